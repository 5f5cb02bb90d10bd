// Design: the command line. `kaio bench [jobfile...] [--fio-option=value...]` and `kaio info`,
// parsed with System.CommandLine; every job option comes from the one table in JobOptions, so
// the command line and job files accept exactly the same names and values. Callable in-process
// (Run takes the writers), which is how the tests drive it.
//
// Errors: bad input is one line on stderr naming the problem (and the file), with exit code 2;
// a failed job (I/O error, verify failure, refused engine) exits 1; a run stopped by a signal
// reports what it measured, says so, and exits 128 + the signal (StopSignals).
// In JSON mode stdout carries one valid JSON document whatever happened, the error as a field.
using System.CommandLine;
using System.CommandLine.Help;
using System.CommandLine.Parsing;
using System.Runtime.InteropServices;
using Kaio.Cli.Jobs;
using Kaio.Cli.Reporting;
using Kaio.Cli.Workloads;
using Spectre.Console;

namespace Kaio.Cli;

/// <summary>The <c>kaio</c> command.</summary>
internal static class KaioApp
{
    public const int ExitOk = 0;
    public const int ExitFailed = 1;
    public const int ExitUsage = 2;

    /// <summary>Runs kaio with <paramref name="args"/>, writing to the given writers; returns the exit code.</summary>
    /// <param name="args">The command line.</param>
    /// <param name="stdout">Reports and JSON.</param>
    /// <param name="stderr">One-line errors.</param>
    /// <param name="probeEngines">Which engines work here; tests stand in for the machine with it.</param>
    /// <param name="stop">Stops running jobs (SIGINT, SIGTERM, SIGHUP); they still report.</param>
    public static int Run(string[] args, TextWriter stdout, TextWriter stderr, Func<IReadOnlyList<AioEngineStatus>>? probeEngines = null, StopSignals? stop = null)
    {
        bool interactive = ReferenceEquals(stdout, Console.Out) && !Console.IsOutputRedirected;
        var app = new App(stdout, stderr, interactive, probeEngines ?? AioContext.ProbeEngines, stop);
        return app.Run(args);
    }

    /// <summary>
    /// Parses <c>bench</c> arguments (without the word bench) into jobs without running them;
    /// bad input throws <see cref="JobOptionException"/> with the one-line error. For tests.
    /// </summary>
    public static List<JobSpec> ParseBench(string[] args)
    {
        var app = new App(TextWriter.Null, TextWriter.Null, interactive: false, AioContext.ProbeEngines, stop: null);
        return app.ParseBench(args);
    }

    private sealed class App
    {
        private static readonly HashSet<string> s_flagsWithWords = new(StringComparer.Ordinal) { "verify", "sync", "write_bw_log", "write_lat_log", "write_iops_log" };

        /// <summary>Options that say where and how to run, not what: with only these, bench is still the bare quick run.</summary>
        private static readonly HashSet<string> s_placementOptions = new(StringComparer.Ordinal) { "ioengine", "direct", "buffered", "filename", "directory", "thread", "kb_base" };

        private readonly TextWriter _stdout;
        private readonly TextWriter _stderr;
        private readonly bool _interactive;
        private readonly StopSignals? _stopSignals;
        private readonly CancellationToken _stop;
        private readonly Func<IReadOnlyList<AioEngineStatus>> _probeEngines;
        private readonly Dictionary<Option, JobOption> _jobOptions = [];
        private readonly List<string> _warnings = [];
        private readonly Option<string> _outputFormat = new("--output-format") { Description = "normal, json (fio-shaped) or json+ (json with fio's latency bins)", HelpName = "normal|json|json+", DefaultValueFactory = _ => "normal" };
        private readonly Option<string> _statusInterval = new("--status-interval") { Description = "every TIME, a line per job with what it did so far (works without a terminal; stderr in JSON mode)", HelpName = "TIME" };
        private readonly Option<string> _repeat = new("--repeat") { Description = "run everything N times; report mean ± σ and min…max of each figure across the runs", HelpName = "N" };
        private readonly Option<string> _plot = new("--plot") { Description = "write PNG pictures of the run into DIR: IOPS and bandwidth over time per job, the latency percentile curve", HelpName = "DIR" };
        private readonly Argument<string[]> _compareFiles = new("file") { Description = "two JSON reports (kaio's or fio's): the first is the base", Arity = new ArgumentArity(2, 2) };
        private readonly Argument<string[]> _plotFiles = new("file") { Description = "JSON reports (latency percentile curves; two or more side by side) and fio-format logs (*_bw.N.log, *_iops.N.log: over time)", Arity = ArgumentArity.OneOrMore };
        private readonly Option<string> _plotOut = new("--out", "-o") { Description = "where to write the PNG files (default: the current directory)", HelpName = "DIR" };
        private readonly Option<bool> _compare = new("--compare") { Description = "run the job on every engine that works here, through Submit/GetEvents and awaited (ENGINE:await), and on .NET RandomAccess; one table with ratios against RandomAccess" };
        private readonly Argument<string[]> _jobFiles = new("jobfile") { Description = "fio job files ([global] and job sections)", Arity = ArgumentArity.ZeroOrMore };
        private readonly Option<string> _infoFormat = new("--output-format") { Description = "normal or json", HelpName = "normal|json", DefaultValueFactory = _ => "normal" };
        private readonly Option<string> _infoDirectory = new("--directory") { Description = "report the file system of this directory (default: where bench puts its temporary file)" };

        public App(TextWriter stdout, TextWriter stderr, bool interactive, Func<IReadOnlyList<AioEngineStatus>> probeEngines, StopSignals? stop)
        {
            _probeEngines = probeEngines;
            _stdout = stdout;
            _stderr = stderr;
            _interactive = interactive;
            _stopSignals = stop;
            _stop = stop?.Token ?? CancellationToken.None;
        }

        public int Run(string[] args)
        {
            if (args.Length == 0)
            {
                args = ["--help"];
            }

            bool json = WantsJson(args);
            Command root = BuildCommands();
            string[] normalized;
            try
            {
                normalized = NormalizeFlags(args);
            }
            catch (JobOptionException e)
            {
                return UsageError(e.Message, json);
            }

            ParseResult parsed = root.Parse(normalized);
            if (parsed.Errors.Count > 0)
            {
                return UsageError(FirstError(parsed), json);
            }

            try
            {
                return parsed.Invoke(new InvocationConfiguration
                {
                    Output = _stdout,
                    Error = _stderr,
                    EnableDefaultExceptionHandler = false,
                    ProcessTerminationTimeout = null,
                });
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                string message = $"internal error: {e.GetType().Name}: {e.Message}";
                _stderr.WriteLine("kaio: " + Printable(message));
                if (json)
                {
                    _stdout.WriteLine(JsonReport.ForError(message));
                }

                return ExitFailed;
            }
        }

        public List<JobSpec> ParseBench(string[] args)
        {
            Command root = BuildCommands();
            ParseResult parsed = root.Parse(["bench", .. NormalizeFlags(args)]);
            if (parsed.Errors.Count > 0)
            {
                throw new JobOptionException(FirstError(parsed));
            }

            return BuildJobs(parsed);
        }

        /// <summary>The most telling parse error: an unrecognized word beats "required command was not provided".</summary>
        private static string FirstError(ParseResult parsed)
            => (parsed.Errors.FirstOrDefault(e => e.Message.Contains("nrecognized", StringComparison.Ordinal)) ?? parsed.Errors[0]).Message;

        private Command BuildCommands()
        {
            var bench = new Command("bench", "Run an I/O workload through Kaio and report IOPS, bandwidth and latency, like fio. With no options: 4 KiB random reads, iodepth 32, for 3 s on a 64 MiB temporary file, on the best engine.");
            foreach (JobOption jobOption in JobOptions.All)
            {
                string[] aliases = [.. jobOption.Aliases.Select(a => "--" + a)];
                Option option = jobOption.IsFlag && !s_flagsWithWords.Contains(jobOption.Name)
                    ? new Option<bool>("--" + jobOption.Name, aliases) { Description = jobOption.Help }
                    : new Option<string>("--" + jobOption.Name, aliases) { Description = jobOption.Help, HelpName = jobOption.ValueHint.Length > 0 ? jobOption.ValueHint : "0|1|WORD" };
                _jobOptions[option] = jobOption;
                bench.Options.Add(option);
            }

            bench.Options.Add(_outputFormat);
            bench.Options.Add(_compare);
            bench.Options.Add(_statusInterval);
            bench.Options.Add(_repeat);
            bench.Options.Add(_plot);
            bench.Arguments.Add(_jobFiles);
            bench.SetAction(Bench);

            var info = new Command("info", "Show the kernel, which engines work here and why the others do not, the AIO limits, and direct I/O alignment.");
            info.Options.Add(_infoFormat);
            info.Options.Add(_infoDirectory);
            info.SetAction(Info);

            // A plain command named kaio rather than RootCommand, whose name would be the assembly's (Kaio.Cli).
            var root = new Command("kaio", "kaio: run I/O workloads through Kaio (Linux AIO rebuilt in user space), the way fio does.");
            root.Options.Add(new HelpOption());
            root.Options.Add(new VersionOption());
            var compare = new Command("compare", "Compare two saved JSON reports (kaio's or fio's): each job's IOPS, bandwidth and latency side by side, with the ratio of the second to the first.");
            compare.Arguments.Add(_compareFiles);
            compare.SetAction(CompareReports);

            var plot = new Command("plot", "Draw PNG pictures from saved JSON reports (latency percentile curves, per job and per engine of a --compare; several reports side by side) and from fio-format bw/iops logs (over time).");
            plot.Arguments.Add(_plotFiles);
            plot.Options.Add(_plotOut);
            plot.SetAction(Plot);

            root.Subcommands.Add(bench);
            root.Subcommands.Add(info);
            root.Subcommands.Add(compare);
            root.Subcommands.Add(plot);
            return root;
        }

        /// <summary>
        /// fio writes booleans as <c>--direct=1</c>, System.CommandLine reads true/false; and
        /// <c>--verify</c> / <c>--sync</c> are flags that also take words (<c>--verify=crc64</c>),
        /// so a bare one becomes <c>=1</c> rather than swallowing the next argument.
        /// </summary>
        private static string[] NormalizeFlags(string[] args)
        {
            var flags = new HashSet<string>(StringComparer.Ordinal) { "--compare" };
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i].StartsWith("--", StringComparison.Ordinal) && s_flagsWithWords.Contains(args[i][2..]))
                {
                    args = [.. args[..i], args[i] + "=1", .. args[(i + 1)..]];
                }
            }

            foreach (JobOption option in JobOptions.All.Where(o => o.IsFlag && !s_flagsWithWords.Contains(o.Name)))
            {
                flags.Add("--" + option.Name);
                foreach (string alias in option.Aliases)
                {
                    flags.Add("--" + alias);
                }
            }

            var result = new string[args.Length];
            for (int i = 0; i < args.Length; i++)
            {
                string arg = args[i];
                int separator = arg.StartsWith("--", StringComparison.Ordinal) ? arg.IndexOfAny(['=', ':']) : -1;
                if (separator > 0 && flags.Contains(arg[..separator]))
                {
                    string value = arg[(separator + 1)..];
                    if (!FioValues.TryParseBool(value, out bool flag) || value.Length == 0)
                    {
                        throw new JobOptionException($"{arg}: expected 0 or 1");
                    }

                    arg = arg[..separator] + "=" + (flag ? "true" : "false");
                }

                result[i] = arg;
            }

            return KeepLastOccurrences(result);
        }

        /// <summary>
        /// An option given twice keeps its last value, as in fio (<c>--rw=read --rw=write</c> writes);
        /// System.CommandLine would refuse the second. Aliases count as the option.
        /// </summary>
        private static string[] KeepLastOccurrences(string[] args)
        {
            var canonical = new Dictionary<string, (string Name, bool TakesValue)>(StringComparer.Ordinal)
            {
                ["--output-format"] = ("output-format", true),
                ["--compare"] = ("compare", false),
                ["--status-interval"] = ("status-interval", true),
                ["--repeat"] = ("repeat", true),
                ["--plot"] = ("plot", true),
            };
            foreach (JobOption option in JobOptions.All)
            {
                bool takesValue = !option.IsFlag || s_flagsWithWords.Contains(option.Name);
                foreach (string name in option.Aliases.Prepend(option.Name))
                {
                    canonical["--" + name] = (option.Name, takesValue);
                }
            }

            var occurrences = new List<(int Start, int Length, string Name)>();
            for (int i = 0; i < args.Length; i++)
            {
                string arg = args[i];
                if (arg == "--")
                {
                    break;
                }

                int separator = arg.StartsWith("--", StringComparison.Ordinal) ? arg.IndexOfAny(['=', ':']) : -1;
                if (!canonical.TryGetValue(separator > 0 ? arg[..separator] : arg, out var option))
                {
                    continue;
                }

                int length = separator < 0 && option.TakesValue && i + 1 < args.Length ? 2 : 1;
                occurrences.Add((i, length, option.Name));
                i += length - 1;
            }

            var dropped = new HashSet<int>();
            foreach (var earlier in occurrences.GroupBy(o => o.Name).SelectMany(g => g.SkipLast(1)))
            {
                for (int i = earlier.Start; i < earlier.Start + earlier.Length; i++)
                {
                    dropped.Add(i);
                }
            }

            return dropped.Count == 0 ? args : [.. args.Where((_, i) => !dropped.Contains(i))];
        }

        private static bool WantsJson(string[] args)
        {
            for (int i = 0; i < args.Length; i++)
            {
                if (args[i] is "--output-format=json" or "--output-format:json" or "--output-format=json+" or "--output-format:json+" || (args[i] == "--output-format" && i + 1 < args.Length && args[i + 1] is "json" or "json+"))
                {
                    return true;
                }
            }

            return false;
        }

        /// <summary>
        /// Control characters from the command line or a file (a stray escape sequence) written as
        /// \xNN, so an error line cannot drive the terminal.
        /// </summary>
        internal static string Printable(string text)
        {
            if (!text.Any(char.IsControl))
            {
                return text;
            }

            var builder = new System.Text.StringBuilder(text.Length + 8);
            foreach (char c in text)
            {
                if (char.IsControl(c))
                {
                    builder.Append(c < 0x100 ? "\\x" : "\\u").Append(((int)c).ToString(c < 0x100 ? "x2" : "x4", System.Globalization.CultureInfo.InvariantCulture));
                }
                else
                {
                    builder.Append(c);
                }
            }

            return builder.ToString();
        }

        private int UsageError(string message, bool json)
        {
            _stderr.WriteLine("kaio: " + Printable(message));
            if (json)
            {
                _stdout.WriteLine(JsonReport.ForError(message));
            }

            return ExitUsage;
        }

        private IAnsiConsole CreateConsole()
        {
            IAnsiConsole console = AnsiConsole.Create(new AnsiConsoleSettings
            {
                Ansi = _interactive ? AnsiSupport.Detect : AnsiSupport.No,
                ColorSystem = _interactive ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
                Interactive = _interactive ? InteractionSupport.Yes : InteractionSupport.No,
                Out = new AnsiConsoleOutput(_stdout),
            });
            if (!_interactive)
            {
                console.Profile.Width = 160;
            }

            return console;
        }

        private int Info(ParseResult parsed)
        {
            string format = parsed.GetValue(_infoFormat) ?? "normal";
            if (format is not ("normal" or "json"))
            {
                return UsageError($"--output-format={format}: expected normal or json", json: false);
            }

            string? directory = parsed.GetValue(_infoDirectory);
            if (directory is not null && !Directory.Exists(directory))
            {
                return UsageError($"--directory={directory}: no such directory", format == "json");
            }

            SystemInfo info = SystemInfo.Gather(directory);
            if (format == "json")
            {
                _stdout.WriteLine(info.ToJson());
            }
            else
            {
                info.Write(CreateConsole());
            }

            return ExitOk;
        }

        private int Bench(ParseResult parsed)
        {
            string format = parsed.GetValue(_outputFormat) ?? "normal";
            if (format is not ("normal" or "json" or "json+"))
            {
                return UsageError($"--output-format={format}: expected normal, json or json+", json: false);
            }

            bool json = format is "json" or "json+";
            List<JobSpec> jobs;
            int repeat = 1;
            TimeSpan? statusInterval = null;
            try
            {
                jobs = BuildJobs(parsed);
                if (parsed.GetValue(_repeat) is { } repeatText)
                {
                    repeat = FioValues.TryParseInt(repeatText, out long n) && n is >= 1 and <= 1000
                        ? (int)n
                        : throw new JobOptionException($"--repeat={repeatText}: expected a number of runs from 1 to 1000");
                }

                if (parsed.GetValue(_statusInterval) is { } intervalText)
                {
                    statusInterval = FioValues.TryParseTime(intervalText, out TimeSpan interval, out string? why) && interval > TimeSpan.Zero
                        ? interval
                        : throw new JobOptionException($"--status-interval={intervalText}: {why ?? "must be more than 0"}");
                }
            }
            catch (JobOptionException e)
            {
                return UsageError(e.Message, json);
            }

            foreach (string warning in _warnings)
            {
                _stderr.WriteLine("kaio: warning: " + Printable(warning));
            }

            IAnsiConsole console = CreateConsole();
            string tempDirectory = TargetFile.ChooseTempDirectory();
            Action<string>? log = json ? null : line => console.MarkupLine("[grey]" + Markup.Escape(line) + "[/]");
            IProgressView? progress = statusInterval is { } every
                ? new StatusInterval(json ? _stderr : _stdout, every)
                : _interactive && !json ? new LiveProgress(console) : null;
            var runner = new BenchRunner(tempDirectory, log, progress, _stop);

            List<string> skipped = [];
            bool compare = parsed.GetValue(_compare);
            if (compare)
            {
                if (jobs.Count != 1)
                {
                    return UsageError($"--compare runs one job; {jobs.Count} were given", json);
                }

                jobs = CompareVariants(jobs[0], runner, skipped);
            }
            else
            {
                string? refused = CheckEngines(jobs) ?? MemoryBudget.Check(jobs, MemoryBudget.Available());
                if (refused is not null)
                {
                    _stderr.WriteLine("kaio: " + Printable(refused));
                    if (json)
                    {
                        _stdout.WriteLine(JsonReport.ForError(refused));
                    }

                    return ExitFailed;
                }
            }

            if (!json && compare)
            {
                console.MarkupLine($"[bold]{Markup.Escape(jobs[0].Name.Split('@')[0])}[/]: {Markup.Escape(jobs[0].Describe().Replace("ioengine=" + jobs[0].IoEngine.Name, "ioengine=" + string.Join("|", jobs.Select(j => j.IoEngine.Name)), StringComparison.Ordinal))}");
            }
            else if (!json)
            {
                foreach (JobSpec job in jobs)
                {
                    console.MarkupLine($"[bold]{Markup.Escape(job.Name)}[/]: {Markup.Escape(job.Describe())}{(job.Description is null ? "" : " — " + Markup.Escape(job.Description))}");
                }
            }

            var runs = new List<List<JobResult>>();
            List<JobResult> results;
            do
            {
                results = runner.Run(jobs);
                runs.Add(results);
            }
            while (runs.Count < repeat && _stopSignals?.Signal is null && results.All(r => !r.Failed));

            List<RepeatRow>? repeated = repeat > 1 ? RepeatRow.From(runs) : null;

            // Read once: a signal after the run ended must not make the report and the exit code disagree.
            PosixSignal? stoppedBy = _stopSignals?.Signal;
            AddProbeReasons(results);
            List<CompareRow>? rows = compare ? CompareRow.From(results) : null;

            string? firstFailure = results.Select(r => r.FailureMessage).FirstOrDefault(m => m is not null);
            foreach (JobResult failed in results.Where(r => r.Failed))
            {
                _stderr.WriteLine("kaio: " + Printable(failed.FailureMessage!));
            }

            if (json)
            {
                _stdout.WriteLine(JsonReport.ForResults(results, rows, stoppedBy is null ? null : "interrupted", stoppedBy is { } signal ? StopSignals.Name(signal) : null, runner.DiskUtil, plus: format == "json+", repeated));
            }
            else
            {
                if (rows is not null)
                {
                    NormalReport.WriteCompare(console, rows);
                }
                else
                {
                    NormalReport.WriteResults(console, results);
                }

                if (repeated is not null)
                {
                    NormalReport.WriteRepeat(console, repeated, runs.Count);
                }

                foreach (string logFile in runner.LogFiles.Distinct())
                {
                    console.MarkupLine("[grey]log: " + Markup.Escape(logFile) + "[/]");
                }

                foreach (string line in skipped)
                {
                    console.MarkupLine("[grey]" + Markup.Escape(line) + "[/]");
                }

                if (stoppedBy is { } signal)
                {
                    console.MarkupLine($"[yellow]interrupted by {StopSignals.Name(signal)}[/]: the report covers what ran until then");
                }
            }

            if (parsed.GetValue(_plot) is { } plotDirectory)
            {
                try
                {
                    foreach (string picture in Plots.ForRun(plotDirectory, results, compare))
                    {
                        (json ? _stderr : _stdout).WriteLine("kaio: plot: " + picture);
                    }
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    _stderr.WriteLine("kaio: " + Printable($"--plot={plotDirectory}: cannot write the pictures: {e.Message}"));
                    firstFailure ??= e.Message;
                }
            }

            if (stoppedBy is { } stopSignal)
            {
                return StopSignals.ExitCode(stopSignal);
            }

            return firstFailure is null ? ExitOk : ExitFailed;
        }

        private int CompareReports(ParseResult parsed)
        {
            string[] files = parsed.GetValue(_compareFiles) ?? [];
            try
            {
                SavedReport a = SavedReport.Load(files[0]);
                SavedReport b = SavedReport.Load(files[1]);
                NormalReport.WriteSavedComparison(CreateConsole(), a, b);
                return ExitOk;
            }
            catch (SavedReportException e)
            {
                return UsageError(e.Message, json: false);
            }
        }

        private int Plot(ParseResult parsed)
        {
            string[] files = parsed.GetValue(_plotFiles) ?? [];
            string directory = parsed.GetValue(_plotOut) ?? ".";
            try
            {
                foreach (string picture in Plots.ForFiles(directory, files))
                {
                    _stdout.WriteLine(picture);
                }

                return ExitOk;
            }
            catch (SavedReportException e)
            {
                return UsageError(e.Message, json: false);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                _stderr.WriteLine("kaio: " + Printable($"plot: cannot write the pictures into {directory}: {e.Message}"));
                return ExitFailed;
            }
        }

        /// <summary>The jobs: kaio's quick defaults plus the options, or the job files read over the options.</summary>
        private List<JobSpec> BuildJobs(ParseResult parsed)
        {
            string[] files = parsed.GetValue(_jobFiles) ?? [];
            string[] unknown = [.. files.Where(f => f.StartsWith('-'))];
            if (unknown.Length > 0)
            {
                // All of them at once, as for a job file's unsupported options.
                throw new JobOptionException($"unknown option{(unknown.Length > 1 ? "s" : "")} {string.Join(", ", unknown.Select(u => $"'{u}'"))} (see kaio bench --help)");
            }

            var given = parsed.CommandResult.Children.OfType<OptionResult>()
                .Where(r => !r.Implicit && _jobOptions.ContainsKey(r.Option))
                .Select(r => (Result: r, Option: _jobOptions[r.Option]))
                .ToList();
            var job = new JobSpec { Name = "bench" };
            bool bare = files.Length == 0 && given.All(g => s_placementOptions.Contains(g.Option.Name));
            if (bare)
            {
                // kaio's defaults for a bare `kaio bench`: a useful first run in a few seconds. A job
                // that names its workload (any option but where and how to run it) gets fio's defaults.
                JobOptions.Apply(job, "rw", "randread");
                JobOptions.Apply(job, "bs", "4k");
                JobOptions.Apply(job, "iodepth", "32");
                JobOptions.Apply(job, "runtime", "3s");
                JobOptions.Apply(job, "time_based", "1");
                if (!given.Any(g => g.Option.Name == "filename"))
                {
                    JobOptions.Apply(job, "size", "64m");
                }
            }

            foreach (var (result, jobOption) in given)
            {
                string? value = result.Option is Option<bool>
                    ? (result.GetValueOrDefault<bool>() ? "1" : "0")
                    : result.Tokens.Count > 0 ? result.Tokens[^1].Value : null;
                try
                {
                    JobOptions.Apply(job, jobOption.Name, value);
                }
                catch (JobOptionException e)
                {
                    throw new JobOptionException("--" + e.Message);
                }
            }

            List<JobSpec> jobs;
            if (files.Length == 0)
            {
                string? invalid = job.Validate();
                if (invalid is not null)
                {
                    throw new JobOptionException(invalid);
                }

                jobs = [Normalize(job, _warnings)];
            }
            else
            {
                jobs = [.. files.SelectMany(file => JobFileParser.ParseFile(file, job)).Select(j => Normalize(j, _warnings))];
            }

            CheckSizes(jobs);
            return jobs;
        }

        /// <summary>
        /// Every job has a size before any runs, as fio checks: a file kaio names needs size=; a
        /// named file without it is used whole, unless it is empty or missing and no earlier job
        /// of the run writes it with a size (fio: "no size given and the file is empty").
        /// </summary>
        private static void CheckSizes(List<JobSpec> jobs)
        {
            var sized = new HashSet<string>(StringComparer.Ordinal);
            foreach (JobSpec job in jobs)
            {
                if (job.MultiFile)
                {
                    // Several files: named ones without a size are used as they are (checked when laid out).
                    if (job.RegionSize is null && job.FileNames is null)
                    {
                        throw new JobOptionException($"{job.Origin}: size= not given (nrfiles and filename_format make the files, so they need a size or filesize)");
                    }

                    continue;
                }

                if (job.FilePath is { } named && File.Exists(named) && !TargetFile.IsDevice(named) && new FileInfo(named).Length == 0 && IsUnseekable(named))
                {
                    throw new JobOptionException($"{job.Origin}: {named}: a FIFO or other unseekable file is not supported: kaio needs a regular file or a block device");
                }

                if (job.RegionSize is not null)
                {
                    if (job.FilePath is not null)
                    {
                        sized.Add(Path.GetFullPath(job.FilePath));
                    }

                    continue;
                }

                if (job.FilePath is not { } fileName)
                {
                    throw new JobOptionException(job.SizePercent is { } percent
                        ? $"{job.Origin}: size={percent.ToString(System.Globalization.CultureInfo.InvariantCulture)}% is a share of an existing file; name one with filename="
                        : $"{job.Origin}: size= not given (kaio names the file, so it needs a size)");
                }

                if (Directory.Exists(fileName))
                {
                    throw new JobOptionException($"{job.Origin}: {fileName}: is a directory (filename= names a file; directory= a place for kaio's own)");
                }

                if (TargetFile.IsDevice(fileName))
                {
                    throw new JobOptionException($"{job.Origin}: {fileName}: size= is needed for a device");
                }

                if (sized.Contains(Path.GetFullPath(fileName)))
                {
                    continue;
                }

                var info = new FileInfo(fileName);
                if (!info.Exists || info.Length == 0)
                {
                    throw new JobOptionException($"{job.Origin}: {fileName}: size= not given and the file is {(info.Exists ? "empty" : "missing")}");
                }
            }
        }

        /// <summary>A FIFO (or socket or character device outside /dev): kaio's I/O has offsets, so it needs to seek.</summary>
        private static bool IsUnseekable(string path)
        {
            try
            {
                // Read and write: opening a FIFO for one direction only waits for the other end.
                using SafeFileHandle handle = File.OpenHandle(path, FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite | FileShare.Delete);
                using var stream = new FileStream(handle, FileAccess.ReadWrite, bufferSize: 0);
                return !stream.CanSeek;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return false;
            }
        }

        private static JobSpec Normalize(JobSpec job, List<string> warnings)
        {
            if (job.Runtime == TimeSpan.Zero)
            {
                // fio: runtime=0 is no limit; with time_based it warns and runs size-bound.
                if (job.TimeBased)
                {
                    warnings.Add($"{job.Origin}: time_based with runtime=0: running size-bound, as fio does");
                }

                job.Runtime = null;
                job.TimeBased = false;
            }

            if (!job.RandRepeat)
            {
                job.Seed = (ulong)Random.Shared.NextInt64();
            }

            if (job.VerifyOnly)
            {
                // verify_only: read the whole region once, checking every block.
                job.ReadWrite = ReadWriteMode.Read;
                job.TimeBased = false;
                job.Runtime = null;
                if (job.Verify == VerifyMode.None)
                {
                    job.Verify = VerifyMode.XxHash64;
                }
            }

            return job;
        }

        /// <summary>An engine asked for by name says only that; its probe says what it is like here (libaio: async only with O_DIRECT).</summary>
        private void AddProbeReasons(List<JobResult> results)
        {
            IReadOnlyList<AioEngineStatus>? statuses = null;
            foreach (JobResult result in results)
            {
                if (result.Job.IoEngine.Kind is not { } kind || kind == AioEngineKind.Auto || result.Threads == 0)
                {
                    continue;
                }

                statuses ??= _probeEngines();
                if (statuses.FirstOrDefault(s => s.Kind == kind) is { Available: true } status && !result.EngineReason.Contains(status.Reason, StringComparison.Ordinal))
                {
                    result.EngineReason = result.EngineReason.Length == 0 ? status.Reason : result.EngineReason + "; " + status.Reason;
                }
            }
        }

        /// <summary>A job asked for an engine by name that does not work here: say so before laying out files.</summary>
        private string? CheckEngines(List<JobSpec> jobs)
        {
            IReadOnlyList<AioEngineStatus>? statuses = null;
            foreach (JobSpec job in jobs)
            {
                if (job.IoEngine.Kind is not { } kind || kind == AioEngineKind.Auto)
                {
                    continue;
                }

                statuses ??= _probeEngines();
                AioEngineStatus? status = statuses.FirstOrDefault(s => s.Kind == kind);
                if (status is { Available: false })
                {
                    return $"{job.Origin}: ioengine={job.IoEngine.Name} does not work here: {status.Reason}";
                }
            }

            return null;
        }

        /// <summary>The job once on .NET RandomAccess (the baseline) and, on every engine that works here, once through Submit/GetEvents and once awaited (ReadAsync/WriteAsync from iodepth tasks), one after another, on one file.</summary>
        private List<JobSpec> CompareVariants(JobSpec job, BenchRunner runner, List<string> skipped)
        {
            string? path = job.MultiFile ? null : job.FileName ?? runner.NewTempFile(job.Name, job.Directory);
            var variants = new List<JobSpec>();
            void Add(IoEngineChoice engine)
            {
                JobSpec variant = job.Clone();
                variant.IoEngine = engine;
                variant.Name = job.Name + "@" + engine.Name;
                variant.FileName = path;
                variant.Stonewall = true;
                variant.GroupReporting = false;
                if (variant.Validate() is { } why)
                {
                    // Trims on RandomAccess, priorities or latency_target on an awaited runner.
                    skipped.Add($"{engine.Name}: not compared: {why}");
                    return;
                }

                variants.Add(variant);
            }

            Add(IoEngineChoice.RandomAccessBaseline);
            foreach (AioEngineStatus status in _probeEngines())
            {
                if (status.Kind == AioEngineKind.Auto)
                {
                    continue;
                }

                if (!status.Available)
                {
                    skipped.Add($"{IoEngineChoice.DisplayName(status.Kind)}: not compared, does not work here: {status.Reason}");
                    continue;
                }

                if (status.Kind == AioEngineKind.Null && (job.Verify != VerifyMode.None || job.VerifyOnly))
                {
                    skipped.Add("null: not compared, it does no I/O to verify");
                    continue;
                }

                Add(IoEngineChoice.For(status.Kind));
                Add(IoEngineChoice.For(status.Kind, awaited: true));
            }

            return variants;
        }
    }
}
