// Issue 12, item 4 (server level): an embedded GarnetServer with its storage tier on, one process
// per device (`serve` mode), each loaded with KEYS 1 KiB values — ≥ 10× its log memory — under the
// keys redis-benchmark's `key:__rand_int__` names, then random GETs from Debian's redis-benchmark
// over 127.0.0.1 at fixed connection counts and pipeline depths with bounded request counts,
// the servers alternated run by run (A/B, ROUNDS times). Medians and ratios against Garnet's own
// RandomAccess device; each run's disk reads per GET come from the server's /proc/<pid>/io and its
// CPU per GET from /proc/<pid>/stat.
// usage: Kaio.Tsavorite.Bench server [dir] [rounds] [keys] [logMemoryMiB] [requests] [devices]
//        devices: comma-separated, the first is the baseline; randomaccess, kaio (Kaio's best engine),
//        kaio:IoUring, kaio:LinuxAio, kaio:ThreadPool, each with +pool for InlineCompletions = false
//        (kaio+pool: every completion hops to the thread pool), native (Garnet's libaio/io_uring shim)
//        Kaio.Tsavorite.Bench serve <device> <port> <dir> <keys> <logMemoryMiB>   (one server; the driver starts these)
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Garnet;
using Garnet.server;
using Kaio.Tsavorite.Tests.Infrastructure;
using Tsavorite.core;

namespace Kaio.Tsavorite.Bench;

internal static class ServerBench
{
    private const int ValueSize = 1024;
    private static readonly (int Connections, int Pipeline)[] s_configs = [(8, 1), (32, 1), (8, 8), (32, 8)];

    public static int Run(string[] args)
    {
        string dir = args.Length > 0 ? args[0] : Path.Combine(AppContext.BaseDirectory, "scratch");
        int rounds = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 5;
        int keys = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 400_000;
        int logMemoryMiB = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 32;
        int requests = args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 100_000;
        string[] deviceNames = (args.Length > 5 ? args[5] : "randomaccess,kaio,kaio+pool").Split(',');
        Directory.CreateDirectory(dir);

        Console.WriteLine($"server level: GarnetServer, {logMemoryMiB} MiB of log memory, {keys:N0} values of {ValueSize} B (~{keys * (ValueSize + 40L) / ((long)logMemoryMiB << 20)}× the memory); "
            + $"redis-benchmark -t get -r {keys} -n {requests} at (connections, pipeline) {string.Join(" ", s_configs.Select(c => $"({c.Connections},{c.Pipeline})"))}; {rounds} rounds; files in {dir}");
        var servers = new List<Server>();
        try
        {
            foreach (string name in deviceNames)
            {
                Server? server = Server.Start(name, Path.Combine(dir, "garnet-" + name.Replace(':', '-')), keys, logMemoryMiB);
                if (server is not null)
                {
                    servers.Add(server);
                }
            }

            if (servers.Count == 0)
            {
                return 1;
            }

            // Warm-up, unmeasured: every configuration once on every server, so that each server's
            // thread pool has grown to what the load asks of it before the first measured run (a
            // session waiting for a pending read blocks a pool thread; the pool adds threads only
            // as it finds itself starved, and without this the first configurations measured would
            // mostly measure that growth).
            foreach ((int connections, int pipeline) in s_configs)
            {
                foreach (Server server in servers)
                {
                    RedisBenchmark(server.Port, keys, requests, connections, pipeline);
                }
            }

            var results = new Dictionary<((int, int) Config, string Device), List<(double Rps, double ReadBytesPerGet, double CpuMicrosPerGet)>>();
            for (int round = 1; round <= rounds; round++)
            {
                foreach ((int connections, int pipeline) in s_configs)
                {
                    foreach (Server server in round % 2 == 1 ? servers : Enumerable.Reverse(servers))
                    {
                        (long read0, _) = ProcIo.Of(server.Pid);
                        double cpu0 = server.CpuSeconds();
                        double rps = RedisBenchmark(server.Port, keys, requests, connections, pipeline);
                        (long read1, _) = ProcIo.Of(server.Pid);
                        double cpu1 = server.CpuSeconds();
                        var sample = (rps, (double)(read1 - read0) / requests, (cpu1 - cpu0) * 1e6 / requests);
                        (results.TryGetValue(((connections, pipeline), server.Name), out var list) ? list : results[((connections, pipeline), server.Name)] = []).Add(sample);
                        Console.WriteLine($"round {round} -c {connections,2} -P {pipeline} {server.Name,-16} {rps,10:N0} GET/s  {sample.Item2,7:N0} B read/GET  {sample.Item3,6:F1} µs CPU/GET");
                    }
                }
            }

            Console.WriteLine();
            Console.WriteLine($"| connections | pipeline | device | GET/s (median of {rounds}) | range | × RandomAccess device | disk read per GET | server CPU per GET |");
            Console.WriteLine("| ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |");
            foreach ((int connections, int pipeline) config in s_configs)
            {
                double baseline = Stats.Median(results[(config, servers[0].Name)].Select(r => r.Rps).ToList());
                foreach (Server server in servers)
                {
                    var runs = results[(config, server.Name)];
                    var rps = runs.Select(r => r.Rps).ToList();
                    Console.WriteLine($"| {config.connections} | {config.pipeline} | {server.Name} | {Stats.Median(rps):N0} | {rps.Min():N0}–{rps.Max():N0} | {Stats.Median(rps) / baseline:F2} | "
                        + $"{Stats.Median(runs.Select(r => r.ReadBytesPerGet).ToList()):N0} B | {Stats.Median(runs.Select(r => r.CpuMicrosPerGet).ToList()):F1} µs |");
                }
            }

            return 0;
        }
        finally
        {
            foreach (Server server in servers)
            {
                server.Dispose();
            }
        }
    }

    /// <summary>One redis-benchmark run of random GETs; its requests per second.</summary>
    private static double RedisBenchmark(int port, int keys, int requests, int connections, int pipeline)
    {
        var start = new ProcessStartInfo("redis-benchmark")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (string a in new[] { "-h", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture), "-t", "get", "-r", keys.ToString(CultureInfo.InvariantCulture),
            "-n", requests.ToString(CultureInfo.InvariantCulture), "-c", connections.ToString(CultureInfo.InvariantCulture), "-P", pipeline.ToString(CultureInfo.InvariantCulture), "--csv" })
        {
            start.ArgumentList.Add(a);
        }

        using Process process = Process.Start(start)!;
        string output = process.StandardOutput.ReadToEnd();
        string error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        // --csv: a header, then "GET","<rps>","<avg ms>",...
        foreach (string line in output.Split('\n'))
        {
            if (line.StartsWith("\"GET\"", StringComparison.Ordinal))
            {
                return double.Parse(line.Split(',')[1].Trim('"'), CultureInfo.InvariantCulture);
            }
        }

        throw new InvalidOperationException($"redis-benchmark exited with {process.ExitCode} and no GET line: {output} {error}");
    }

    /// <summary>`serve`: one loaded GarnetServer on one device until standard input closes.</summary>
    public static int Serve(string[] args)
    {
        string device = args[0];
        int port = int.Parse(args[1], CultureInfo.InvariantCulture);
        string dir = args[2];
        int keys = int.Parse(args[3], CultureInfo.InvariantCulture);
        int logMemoryMiB = int.Parse(args[4], CultureInfo.InvariantCulture);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }

        KaioNamedDeviceFactoryCreator? kaio = null;
        var options = new GarnetServerOptions
        {
            EndPoints = [new IPEndPoint(IPAddress.Loopback, port)],
            EnableStorageTier = true,
            LogDir = Path.Combine(dir, "log"),
            CheckpointDir = Path.Combine(dir, "checkpoints"),
            LogMemorySize = $"{logMemoryMiB}m",
            PageSize = "1m",
            SegmentSize = "256m",
            IndexMemorySize = "64m",
            QuietMode = true,
        };
        switch (device)
        {
            case "randomaccess":
                options.DeviceType = DeviceType.RandomAccess;
                break;
            case "native":
                options.DeviceType = DeviceType.Native;
                break;
            default:
                // kaio[:Engine][+pool]
                if (!device.StartsWith("kaio", StringComparison.Ordinal))
                {
                    throw new ArgumentException($"unknown device '{device}'");
                }

                bool inline = !device.EndsWith("+pool", StringComparison.Ordinal);
                string kind = device.Replace("+pool", "", StringComparison.Ordinal);
                AioEngineKind engine = kind.StartsWith("kaio:", StringComparison.Ordinal) ? Enum.Parse<AioEngineKind>(kind["kaio:".Length..]) : AioEngineKind.Auto;
                options.DeviceFactoryCreator = kaio = new KaioNamedDeviceFactoryCreator(capacity: 1024, engine, new KaioDeviceOptions { InlineCompletions = inline });
                break;
        }

        try
        {
            using (var server = new GarnetServer(options))
            {
                server.Start();
                long started = Stopwatch.GetTimestamp();
                Load(port, keys);
                double loadSeconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
                int verified = Verify(port, keys);
                (long read, long write) = ProcIo.Self();
                Console.WriteLine($"ready: {keys:N0} values loaded in {loadSeconds:F1} s ({write >> 20} MiB written), {verified} random GETs verified ({read >> 20} MiB read){(kaio is null ? "" : $"; Kaio engine {kaio.Context.Engine}")}");
                Console.Out.Flush();
                while (Console.In.ReadLine() is not null)
                {
                }
            }
        }
        finally
        {
            kaio?.Dispose();
        }

        return 0;
    }

    private static void Load(int port, int keys)
    {
        const int Batch = 512;
        using var client = new RespClient(port);
        byte[] set = "SET"u8.ToArray();
        byte[] value = new byte[ValueSize];
        for (int start = 0; start < keys; start += Batch)
        {
            int end = Math.Min(keys, start + Batch);
            for (int i = start; i < end; i++)
            {
                BitConverter.TryWriteBytes(value, i);
                client.Append(set, RespClient.Key(i), value);
            }

            client.Flush();
            for (int i = start; i < end; i++)
            {
                if (client.Read() is not "OK")
                {
                    throw new InvalidOperationException($"SET {i} failed");
                }
            }
        }
    }

    private static int Verify(int port, int keys)
    {
        const int Count = 1000;
        using var client = new RespClient(port);
        var random = new Random(1);
        int[] sample = Enumerable.Range(0, Count).Select(_ => random.Next(keys)).ToArray();
        foreach (int key in sample)
        {
            client.Append("GET"u8.ToArray(), RespClient.Key(key));
        }

        client.Flush();
        foreach (int key in sample)
        {
            if (client.Read() is not byte[] got || got.Length != ValueSize || BitConverter.ToInt32(got) != key)
            {
                throw new InvalidOperationException($"GET {key}: wrong or missing value");
            }
        }

        return Count;
    }

    /// <summary>A `serve` child process.</summary>
    private sealed class Server : IDisposable
    {
        private readonly Process _process;

        private Server(string name, Process process, int port)
        {
            Name = name;
            _process = process;
            Port = port;
        }

        public string Name { get; }

        public int Port { get; }

        public string Pid => _process.Id.ToString(CultureInfo.InvariantCulture);

        /// <summary>Starts and loads a server; null (with the reason printed) when it fails to come up.</summary>
        public static Server? Start(string name, string dir, int keys, int logMemoryMiB)
        {
            int port = FreePort();
            var start = new ProcessStartInfo(Environment.ProcessPath!)
            {
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            if (Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet")
            {
                start.ArgumentList.Add(typeof(ServerBench).Assembly.Location);
            }

            foreach (string a in new[] { "serve", name, port.ToString(CultureInfo.InvariantCulture), dir, keys.ToString(CultureInfo.InvariantCulture), logMemoryMiB.ToString(CultureInfo.InvariantCulture) })
            {
                start.ArgumentList.Add(a);
            }

            Process process = Process.Start(start)!;
            var stderr = new System.Text.StringBuilder();
            process.ErrorDataReceived += (_, e) =>
            {
                lock (stderr)
                {
                    stderr.AppendLine(e.Data);
                }
            };
            process.BeginErrorReadLine();
            Task<string?> ready = process.StandardOutput.ReadLineAsync();
            if (!ready.Wait(TimeSpan.FromMinutes(5)) || ready.Result is null || !ready.Result.StartsWith("ready", StringComparison.Ordinal))
            {
                if (!process.HasExited)
                {
                    process.Kill(entireProcessTree: true);
                }

                process.WaitForExit();
                string why;
                lock (stderr)
                {
                    why = string.Join(" | ", stderr.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Take(6));
                }

                Console.WriteLine($"{name}: the server did not come up (exit {process.ExitCode}): {(ready.IsCompletedSuccessfully ? ready.Result : "no answer in 5 minutes")} {why}");
                process.Dispose();
                return null;
            }

            Console.WriteLine($"{name} (pid {process.Id}, port {port}): {ready.Result}");
            return new Server(name, process, port);
        }

        /// <summary>The server's user and system CPU time so far (/proc/&lt;pid&gt;/stat utime + stime).</summary>
        public double CpuSeconds()
        {
            string stat = File.ReadAllText($"/proc/{Pid}/stat");
            string[] fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // After the command: state is field 3, utime 14, stime 15 (1-based in proc(5)).
            long ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return ticks / 100.0;
        }

        public void Dispose()
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(TimeSpan.FromSeconds(60)))
            {
                _process.Kill(entireProcessTree: true);
            }

            _process.Dispose();
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
