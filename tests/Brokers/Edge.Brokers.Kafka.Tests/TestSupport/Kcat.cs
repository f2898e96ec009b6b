using System.Diagnostics;
using Xunit;

namespace Edge.Brokers.Kafka.Tests.TestSupport;

/// <summary>Debian's kcat: an independent Kafka client (installed by scripts/kafka-tools.sh).</summary>
internal static class Kcat
{
    /// <summary>Produces one record per (key, value) line with kcat; <paramref name="partitioner"/> is librdkafka's name.</summary>
    public static async Task ProduceAsync(string bootstrap, string topic, IEnumerable<(string Key, string Value)> records, string? partitioner, CancellationToken cancellationToken)
    {
        var arguments = new List<string> { "-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-q" };
        if (partitioner is not null)
        {
            arguments.Add("-X");
            arguments.Add("partitioner=" + partitioner);
        }

        var start = new ProcessStartInfo("kcat")
        {
            RedirectStandardInput = true,
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail("kcat is not installed (run scripts/kafka-tools.sh): " + e.Message);
            throw;
        }

        using (process)
        {
            foreach (var (key, value) in records)
            {
                await process.StandardInput.WriteLineAsync($"{key}\t{value}".AsMemory(), cancellationToken);
            }

            process.StandardInput.Close();
            var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
            await process.WaitForExitAsync(cancellationToken).WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            Assert.True(process.ExitCode == 0, "kcat failed: " + await stderr);
        }
    }
}
