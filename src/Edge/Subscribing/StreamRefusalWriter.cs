using System.Globalization;
using System.Text;
using System.Text.Json;
using Edge.Http;
using Edge.Streams;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.WebUtilities;

namespace Edge.Subscribing;

/// <summary>
/// Writes a refusal the way the stream asks: problem+json with the status code, or (Event style
/// for transient refusals, SeedStyle for all) a 200 stream holding <c>retry:</c> and
/// <c>event: error</c>, then closed. A native EventSource never retries after a non-200 answer,
/// so only the 200 form lets a browser come back on its own.
/// </summary>
internal static class StreamRefusalWriter
{
    public static async Task WriteAsync(HttpContext context, StreamDefinition stream, StreamRefusal refusal)
    {
        var response = context.Response;
        var asEvent = stream.Options.SeedStyle || (refusal.IsTransient && stream.Options.RefusalStyle == Configuration.RefusalStyle.Event);
        if (!asEvent)
        {
            if (refusal.WwwAuthenticate is { } challenge)
            {
                response.Headers.WWWAuthenticate = challenge;
            }

            await ProblemResponses.WriteAsync(context, refusal.Status, Title(refusal.Status), refusal.Detail, retryAfter: refusal.IsTransient ? refusal.RetryAfter : null).ConfigureAwait(false);
            return;
        }

        response.StatusCode = StatusCodes.Status200OK;
        response.ContentType = "text/event-stream";
        response.Headers.CacheControl = "no-cache";
        response.Headers["X-Accel-Buffering"] = "no";
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var retry = refusal.IsTransient ? RetryWithJitter(refusal.RetryAfter, stream.Options.RefusalRetryMilliseconds) : (int?)null;
        await response.Body.WriteAsync(ErrorFrame(refusal.Status, refusal.IsTransient || !stream.Options.SeedStyle ? refusal.Reason : null, retry), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The base (the refusal's Retry-After, else the stream's setting) plus up to half again, so refused clients do not return in step.</summary>
    public static int RetryWithJitter(TimeSpan? retryAfter, int baseMilliseconds)
    {
        var basis = retryAfter is { } after && after > TimeSpan.Zero ? (int)Math.Min(after.TotalMilliseconds, int.MaxValue / 2) : Math.Max(baseMilliseconds, 1);
        return basis + Random.Shared.Next(0, (basis / 2) + 1);
    }

    /// <summary><c>retry: N</c> (optional), <c>event: error</c> and <c>data: {"error":"...","code":N,"reason":"..."}</c>.</summary>
    public static byte[] ErrorFrame(int status, string? reason, int? retryMilliseconds)
    {
        var body = new Dictionary<string, object>
        {
            ["error"] = Title(status),
            ["code"] = status,
        };
        if (reason is not null)
        {
            body["reason"] = reason;
        }

        var builder = new StringBuilder();
        if (retryMilliseconds is { } retry)
        {
            builder.Append("retry: ").Append(retry.ToString(CultureInfo.InvariantCulture)).Append('\n');
        }

        builder.Append("event: error\ndata: ").Append(JsonSerializer.Serialize(body)).Append("\n\n");
        return Encoding.UTF8.GetBytes(builder.ToString());
    }

    public static string Title(int status) => ReasonPhrases.GetReasonPhrase(status) is { Length: > 0 } phrase ? phrase : "Error";
}
