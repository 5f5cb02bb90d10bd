namespace Kaio.Tests.Infrastructure;

/// <summary>Which engines work on this machine, asked of the library once.</summary>
public static class EngineSupport
{
    private static readonly Lazy<IReadOnlyList<AioEngineStatus>> s_status = new(AioContext.ProbeEngines);

    /// <summary>Null when the engine works here; otherwise why not.</summary>
    public static string? UnavailableReason(AioEngineKind kind)
    {
        foreach (AioEngineStatus s in s_status.Value)
        {
            if (s.Kind == kind)
            {
                return s.Available ? null : $"{kind} engine unavailable here: {s.Reason}";
            }
        }

        return $"{kind} engine unknown to ProbeEngines";
    }
}
