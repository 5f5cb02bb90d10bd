// Design: reads fio job files (fio's init.c: __parse_jobs_ini()). The format: `[section]` lines,
// `key=value` or bare `key` lines, comments from ';' or '#' to the end of a line (parse.c:
// strip_blank_end() cuts there even mid-line), `${VAR}` replaced by the environment variable
// (parse.c: option_dup_subs(), empty when unset). `[global]` sections change the defaults of
// the jobs that follow them; every other section is a job. Options are applied in file order,
// except `kb_base`, which is applied first within its section so it governs every size there.
using System.Text.RegularExpressions;

namespace Kaio.Cli.Jobs;

/// <summary>Reads fio job files into <see cref="JobSpec"/>s.</summary>
internal static partial class JobFileParser
{
    /// <summary>Reads a job file; errors name the file and line.</summary>
    public static List<JobSpec> ParseFile(string path, JobSpec defaults)
    {
        if (Directory.Exists(path))
        {
            throw new JobOptionException($"job file '{path}' is a directory");
        }

        string text;
        try
        {
            text = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new JobOptionException(e is FileNotFoundException or DirectoryNotFoundException
                ? $"job file '{path}' not found"
                : $"cannot read job file '{path}': {e.Message}");
        }

        return Parse(text, path, defaults);
    }

    /// <summary>
    /// Reads job file text; <paramref name="fileName"/> is used in errors. Every unsupported
    /// option of the file is named in one error (as fio lists them all) before any value is read.
    /// </summary>
    public static List<JobSpec> Parse(string text, string fileName, JobSpec defaults)
    {
        var sections = new List<(string Name, int Line, List<(int Line, string Key, string? Value)> Entries)>();
        string[] lines = text.ReplaceLineEndings("\n").Split('\n');
        for (int i = 0; i < lines.Length; i++)
        {
            int lineNumber = i + 1;
            string line = StripComment(lines[i]).Trim();
            if (line.Length == 0)
            {
                continue;
            }

            if (line[0] == '[')
            {
                if (line[^1] != ']' || line.Length < 3)
                {
                    throw new JobOptionException($"{fileName}:{lineNumber}: malformed section header '{line}'");
                }

                sections.Add((line[1..^1].Trim(), lineNumber, []));
                continue;
            }

            if (line.StartsWith("include ", StringComparison.Ordinal))
            {
                throw new JobOptionException($"{fileName}:{lineNumber}: 'include' is not supported");
            }

            if (sections.Count == 0)
            {
                throw new JobOptionException($"{fileName}:{lineNumber}: option '{line}' outside a section (start with [global] or [jobname])");
            }

            int equals = line.IndexOf('=', StringComparison.Ordinal);
            string key = (equals < 0 ? line : line[..equals]).Trim();
            string? value = equals < 0 ? null : SubstituteEnvironment(line[(equals + 1)..].Trim());
            sections[^1].Entries.Add((lineNumber, key, value));
        }

        string[] unsupported = [.. sections.SelectMany(section => section.Entries
            .Where(e => !JobOptions.TryFind(e.Key, out _))
            .Select(e => $"{fileName}:{e.Line}: unsupported option '{e.Key}' in [{section.Name}]"))];
        if (unsupported.Length > 0)
        {
            throw new JobOptionException(string.Join("; ", unsupported));
        }

        var jobs = new List<JobSpec>();
        JobSpec global = defaults.Clone();
        foreach (var (section, sectionLine, entries) in sections)
        {
            bool isGlobal = section == "global";
            JobSpec target = isGlobal ? global : global.Clone();
            if (!isGlobal)
            {
                target.Name = section;
                target.Origin = $"{fileName} [{section}]";
                target.GlobalOptions = [.. global.GivenOptions];
                target.GivenOptions.Clear();
            }

            foreach (var entry in entries.Where(e => e.Key == "kb_base").Concat(entries.Where(e => e.Key != "kb_base")))
            {
                try
                {
                    JobOptions.Apply(target, entry.Key, entry.Value);
                }
                catch (JobOptionException e)
                {
                    throw new JobOptionException($"{fileName}:{entry.Line}: {e.Message} in [{section}]");
                }
            }

            if (!isGlobal)
            {
                string? invalid = target.Validate();
                if (invalid is not null)
                {
                    throw new JobOptionException($"{fileName}:{sectionLine}: {invalid} in [{section}]");
                }

                jobs.Add(target);
            }
        }

        if (jobs.Count == 0)
        {
            throw new JobOptionException($"{fileName}: no jobs (a job file needs at least one section other than [global])");
        }

        for (int i = 0; i < jobs.Count; i++)
        {
            if (jobs[i].WaitFor is { } waitFor && !jobs.Take(i).Any(j => j.Name == waitFor))
            {
                throw new JobOptionException($"{jobs[i].Origin}: wait_for={waitFor}: no job of that name before this one");
            }
        }

        return jobs;
    }

    private static string StripComment(string line)
    {
        int cut = line.IndexOfAny([';', '#']);
        return cut < 0 ? line : line[..cut];
    }

    private static string SubstituteEnvironment(string value)
        => EnvironmentReference().Replace(value, m => Environment.GetEnvironmentVariable(m.Groups[1].Value) ?? "");

    [GeneratedRegex(@"\$\{([^}]+)\}")]
    private static partial Regex EnvironmentReference();
}
