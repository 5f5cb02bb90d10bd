// Design: what GarnetServerOptions.DeviceFactoryCreator takes. Garnet asks it for one factory per
// base folder (the log, checkpoints, the AOF); every factory and device shares the creator's one
// AioContext. The creator owns that context when it made it, and disposes it in Dispose, which
// must come after the server (and every device) is disposed.
using Tsavorite.core;

namespace Kaio.Tsavorite;

/// <summary>
/// An <see cref="INamedDeviceFactoryCreator"/> for Kaio devices: set it as Garnet's
/// <c>GarnetServerOptions.DeviceFactoryCreator</c> and the server's main log, object log,
/// checkpoints and AOF go through one shared <see cref="AioContext"/>.
/// </summary>
public sealed class KaioNamedDeviceFactoryCreator : INamedDeviceFactoryCreator, IDisposable
{
    private readonly AioContext _context;
    private readonly bool _ownsContext;
    private readonly KaioDeviceOptions _options;

    /// <summary>Creates factories whose devices submit to <paramref name="context"/>, which the creator does not own.</summary>
    /// <param name="context">The shared context; set it up with <see cref="AioFullBehavior.Wait"/>.</param>
    /// <param name="options">How devices open and throttle their files; null for the defaults.</param>
    /// <exception cref="ArgumentNullException"><paramref name="context"/> is null.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the first parameter's type (AioContext or int), so no call binds ambiguously.")]
    public KaioNamedDeviceFactoryCreator(AioContext context, KaioDeviceOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = context;
        _options = options ?? KaioDeviceOptions.Default;
    }

    /// <summary>
    /// Creates factories whose devices share a context the creator sets up (waiting when full) and
    /// disposes in <see cref="Dispose"/>.
    /// </summary>
    /// <param name="capacity">The context's capacity: requests outstanding at once across every device.</param>
    /// <param name="engine">The engine; <see cref="AioEngineKind.Auto"/> picks the best that works here.</param>
    /// <param name="options">How devices open and throttle their files; null for the defaults.</param>
    /// <exception cref="AioException">The context cannot be set up (see <see cref="AioContext.Setup"/>).</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "The overloads differ in the first parameter's type (AioContext or int), so no call binds ambiguously.")]
    public KaioNamedDeviceFactoryCreator(int capacity = 1024, AioEngineKind engine = AioEngineKind.Auto, KaioDeviceOptions? options = null)
    {
        _context = AioContext.Setup(capacity, new AioContextOptions { Engine = engine, WhenFull = AioFullBehavior.Wait });
        _ownsContext = true;
        _options = options ?? KaioDeviceOptions.Default;
    }

    /// <summary>The context every device submits to.</summary>
    public AioContext Context => _context;

    /// <summary>A factory for files under <paramref name="baseName"/>.</summary>
    public INamedDeviceFactory Create(string baseName) => new KaioNamedDeviceFactory(baseName, _context, _options);

    /// <summary>Disposes the context if the creator set it up; dispose every device (the Garnet server) first.</summary>
    public void Dispose()
    {
        if (_ownsContext)
        {
            _context.Dispose();
        }
    }
}
