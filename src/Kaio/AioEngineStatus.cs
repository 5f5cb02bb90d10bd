namespace Kaio;

/// <summary>Whether an engine works on this machine, and why (or why not).</summary>
/// <param name="Kind">The engine.</param>
/// <param name="Available">True when a context can use it here.</param>
/// <param name="Reason">Why it works or does not (for example <c>io_uring_setup: EPERM (seccomp)</c>).</param>
public sealed record AioEngineStatus(AioEngineKind Kind, bool Available, string Reason);
