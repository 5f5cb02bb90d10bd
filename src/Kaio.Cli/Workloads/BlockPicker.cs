// Design: picks the position of a random request among n aligned positions by fio's
// random_distribution. Zipf is drawn by rejection-inversion (Hörmann and Derflinger, "Rejection-
// inversion to generate variates from monotone discrete distributions", 1996): O(1) a draw for any
// n, no table. Pareto is u^(log h / log(1-h)) of the range, as fio defines it. Normal is a Gaussian
// (Box-Muller) around the middle. Zipf, pareto and normal ranks are then scattered over the file
// by a fixed 64-bit mix, so the hot blocks are spread out rather than packed at the start — what
// fio does with its hash — and the same ranks land on the same blocks every run of a seed.
// Zoned picks a zone by its share of requests, then a uniform position inside it.
using Kaio.Cli.Jobs;

namespace Kaio.Cli.Workloads;

/// <summary>Draws positions in [0, n) by a random_distribution.</summary>
internal sealed class BlockPicker
{
    private readonly RandomDistribution _distribution;
    private readonly Func<ulong> _random;
    private readonly ulong _scatter;
    private readonly int _alignment;
    private long _zipfFor = -1;
    private double _hIntegralX1;
    private double _hIntegralN;
    private double _s;

    /// <param name="distribution">The distribution.</param>
    /// <param name="random">Uniform 64-bit draws.</param>
    /// <param name="scatter">A per-job constant that places the hot ranks.</param>
    /// <param name="alignment">Bytes per position (zoned_abs sizes are in bytes).</param>
    public BlockPicker(RandomDistribution distribution, Func<ulong> random, ulong scatter, int alignment)
    {
        _distribution = distribution;
        _random = random;
        _scatter = scatter;
        _alignment = alignment;
    }

    /// <summary>A position in [0, <paramref name="n"/>).</summary>
    public long Next(long n)
    {
        if (n <= 1)
        {
            return 0;
        }

        return _distribution.Kind switch
        {
            DistributionKind.Zipf => Scatter(Zipf(n) - 1, n),
            DistributionKind.Pareto => Scatter(Math.Min(n - 1, (long)((n - 1) * Math.Pow(Uniform01(), Math.Log(_distribution.Parameter) / Math.Log(1 - _distribution.Parameter)))), n),
            DistributionKind.Normal => Scatter(Normal(n), n),
            DistributionKind.Zoned or DistributionKind.ZonedAbsolute => Zoned(n),
            _ => Below((ulong)n),
        };
    }

    private long Below(ulong bound) => (long)(((UInt128)_random() * bound) >> 64);

    private double Uniform01() => (_random() >> 11) * (1.0 / (1UL << 53));

    private long Scatter(long rank, long n)
    {
        ulong z = (ulong)rank + _scatter;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        z ^= z >> 31;
        return (long)(z % (ulong)n);
    }

    private long Normal(long n)
    {
        double sigma = n * _distribution.Parameter / 100.0;
        double mean = (n - 1) / 2.0;
        if (sigma <= 0)
        {
            return (long)mean;
        }

        while (true)
        {
            double u1 = 1.0 - Uniform01();
            double u2 = Uniform01();
            double x = mean + (sigma * Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2 * Math.PI * u2));
            long k = (long)Math.Round(x);
            if (k >= 0 && k < n)
            {
                return k;
            }
        }
    }

    private long Zoned(long n)
    {
        int point = (int)Below(100); // 0..99
        double start = 0;
        int cumulative = 0;
        foreach (AccessZone zone in _distribution.Zones)
        {
            double size = _distribution.Kind == DistributionKind.Zoned
                ? zone.Size / 100.0 * n
                : double.IsNaN(zone.Size) ? n - start : zone.Size / _alignment;
            cumulative += zone.AccessPercent;
            if (point < cumulative)
            {
                long first = Math.Min(n - 1, (long)start);
                long count = Math.Max(1, Math.Min(n - first, (long)size));
                return first + Below((ulong)count);
            }

            start += size;
        }

        return Below((ulong)n);
    }

    // Rejection-inversion for P(k) ∝ k^-s, k in [1, n].
    private long Zipf(long n)
    {
        if (_zipfFor != n)
        {
            _zipfFor = n;
            _hIntegralX1 = HIntegral(1.5) - 1.0;
            _hIntegralN = HIntegral(n + 0.5);
            _s = 2.0 - HIntegralInverse(HIntegral(2.5) - H(2.0));
        }

        while (true)
        {
            double u = _hIntegralN + (Uniform01() * (_hIntegralX1 - _hIntegralN));
            double x = HIntegralInverse(u);
            long k = Math.Clamp((long)(x + 0.5), 1, n);
            if (k - x <= _s || u >= HIntegral(k + 0.5) - H(k))
            {
                return k;
            }
        }
    }

    private double Exponent => _distribution.Parameter;

    private double H(double x) => Math.Exp(-Exponent * Math.Log(x));

    /// <summary>∫ x^-s dx = (x^(1-s) - 1) / (1 - s), written to stay exact near s = 1.</summary>
    private double HIntegral(double x)
    {
        double logX = Math.Log(x);
        return ExpM1OverX((1.0 - Exponent) * logX) * logX;
    }

    private double HIntegralInverse(double x)
    {
        double t = x * (1.0 - Exponent);
        if (t < -1.0)
        {
            t = -1.0; // rounding at the lower bound
        }

        return Math.Exp(Log1POverX(t) * x);
    }

    private static double ExpM1OverX(double x) => Math.Abs(x) > 1e-8 ? (Math.Exp(x) - 1.0) / x : 1.0 + (x / 2.0) + (x * x / 6.0);

    private static double Log1POverX(double x) => Math.Abs(x) > 1e-8 ? Math.Log(1.0 + x) / x : 1.0 - (x / 2.0) + (x * x / 3.0);
}
