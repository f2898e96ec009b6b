using System.Globalization;
using System.Text.RegularExpressions;

namespace Edge.Testing;

/// <summary>
/// One scrape of a Prometheus text exposition, read by name and labels: a test reads what
/// Prometheus would, through the real exporter over HTTP.
/// </summary>
public sealed partial class PrometheusScrape
{
    private readonly List<(string Name, Dictionary<string, string> Labels, double Value)> _samples = [];

    private PrometheusScrape(string text)
    {
        Text = text;
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#')
            {
                continue;
            }

            var match = SampleRegex().Match(line);
            if (!match.Success)
            {
                throw new FormatException($"Not a Prometheus sample line: '{line}'");
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (Match label in LabelRegex().Matches(match.Groups["labels"].Value))
            {
                labels[label.Groups["key"].Value] = label.Groups["value"].Value.Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);
            }

            var value = match.Groups["value"].Value switch
            {
                "+Inf" => double.PositiveInfinity,
                "-Inf" => double.NegativeInfinity,
                "NaN" => double.NaN,
                var number => double.Parse(number, NumberStyles.Float, CultureInfo.InvariantCulture),
            };
            _samples.Add((match.Groups["name"].Value, labels, value));
        }
    }

    public string Text { get; }

    /// <summary>Scrapes <paramref name="path"/> (default <c>/_edge/metrics</c>) and parses the answer; fails on anything but 200 text.</summary>
    public static async Task<PrometheusScrape> ReadAsync(HttpClient client, string path = "/_edge/metrics", CancellationToken cancellationToken = default)
    {
        using var response = await client.GetAsync(path, cancellationToken).ConfigureAwait(false);
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode || response.Content.Headers.ContentType?.MediaType != "text/plain")
        {
            throw new InvalidOperationException($"The scrape of {path} answered {(int)response.StatusCode} {response.Content.Headers.ContentType}: {body}");
        }

        return new PrometheusScrape(body);
    }

    /// <summary>Whether a sample named <paramref name="name"/> exists with at least these labels.</summary>
    public bool Has(string name, params (string Key, string Value)[] labels) => Find(name, labels).Any();

    /// <summary>The sum of the samples named <paramref name="name"/> that carry these labels; 0 when there is none.</summary>
    public double Value(string name, params (string Key, string Value)[] labels) => Find(name, labels).Sum(s => s.Value);

    private IEnumerable<(string Name, Dictionary<string, string> Labels, double Value)> Find(string name, (string Key, string Value)[] labels) =>
        _samples.Where(s => s.Name == name && labels.All(l => s.Labels.TryGetValue(l.Key, out var v) && v == l.Value));

    [GeneratedRegex(@"^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})?\s+(?<value>\S+)(\s+\d+)?$")]
    private static partial Regex SampleRegex();

    [GeneratedRegex(@"(?<key>[a-zA-Z_][a-zA-Z0-9_]*)=""(?<value>(\\.|[^""\\])*)""")]
    private static partial Regex LabelRegex();
}
