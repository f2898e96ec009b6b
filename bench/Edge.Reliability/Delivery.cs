using System.Diagnostics;
using Edge.Bench;

namespace Edge.Reliability;

/// <summary>Every client's sequence checked against what was published on its channel.</summary>
internal sealed record DeliveryCheck(long Expected, long Delivered, long Lost, long Duplicates, long OutOfOrder, long Gaps, long RefusedButDelivered, long UnknownDelivered, long UnknownPublished, int ClientsMissingEvents)
{
    public double DeliveredPct => Expected > 0 ? 100.0 * Delivered / Expected : 100;

    public bool Exact => Lost == 0 && Duplicates == 0 && OutOfOrder == 0 && RefusedButDelivered == 0 && Gaps == 0;

    public static DeliveryCheck Of(IEnumerable<Subscriber> subscribers, IEnumerable<ChannelLog> logs)
    {
        var byChannel = logs.ToDictionary(l => l.Channel, StringComparer.Ordinal);
        long expected = 0, delivered = 0, dups = 0, ooo = 0, gaps = 0, refusedSeen = 0, unknownSeen = 0, unknown = 0;
        var missing = 0;
        foreach (var log in byChannel.Values)
        {
            for (var seq = 0; seq < log.Count; seq++)
            {
                if (log[seq] == PublishOutcome.Unknown)
                {
                    unknown++;
                }
            }
        }

        foreach (var s in subscribers)
        {
            dups += s.Duplicates;
            ooo += s.OutOfOrder;
            gaps += s.Gaps;
            if (!byChannel.TryGetValue(s.Channel, out var log))
            {
                continue;
            }

            var lostHere = 0L;
            for (var seq = 0; seq < log.Count; seq++)
            {
                var seen = s.Saw(seq);
                switch (log[seq])
                {
                    case PublishOutcome.Accepted:
                        expected++;
                        if (seen)
                        {
                            delivered++;
                        }
                        else
                        {
                            lostHere++;
                        }

                        break;
                    case PublishOutcome.Refused when seen:
                        refusedSeen++;
                        break;
                    case PublishOutcome.Unknown when seen:
                        unknownSeen++;
                        break;
                }
            }

            if (lostHere > 0)
            {
                missing++;
            }
        }

        return new DeliveryCheck(expected, delivered, expected - delivered, dups, ooo, gaps, refusedSeen, unknownSeen, unknown, missing);
    }

    /// <summary>Re-checks until nothing is missing, or no progress for <paramref name="quiet"/>, at most <paramref name="limit"/>.</summary>
    public static async Task<DeliveryCheck> AwaitAsync(Func<IEnumerable<Subscriber>> subscribers, IReadOnlyList<ChannelLog> logs, TimeSpan limit, TimeSpan quiet)
    {
        var sw = Stopwatch.StartNew();
        var progress = Stopwatch.StartNew();
        var last = -1L;
        while (true)
        {
            var check = Of(subscribers(), logs);
            if (check.Lost == 0 || sw.Elapsed > limit)
            {
                return check;
            }

            if (check.Delivered != last)
            {
                last = check.Delivered;
                progress.Restart();
            }
            else if (progress.Elapsed > quiet)
            {
                return check;
            }

            await Task.Delay(250).ConfigureAwait(false);
        }
    }
}
