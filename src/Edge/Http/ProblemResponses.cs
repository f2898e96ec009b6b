using System.Text.Json;

namespace Edge.Http;

/// <summary>RFC 9457 problem details, written the same way by every edge endpoint.</summary>
internal static class ProblemResponses
{
    public static Task WriteAsync(HttpContext context, int status, string title, string detail, IDictionary<string, string[]>? errors = null, TimeSpan? retryAfter = null)
    {
        var response = context.Response;
        response.StatusCode = status;
        response.ContentType = "application/problem+json";
        response.Headers.CacheControl = "no-store";
        if (retryAfter is { } delay)
        {
            response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(delay.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        var body = new Dictionary<string, object>
        {
            ["type"] = "https://httpwg.org/specs/rfc9110.html#status." + status,
            ["title"] = title,
            ["status"] = status,
            ["detail"] = detail,
        };
        if (errors is not null)
        {
            body["errors"] = errors;
        }

        return response.WriteAsync(JsonSerializer.Serialize(body), context.RequestAborted);
    }
}
