using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Publisher.Samples;

/// <summary>
/// The edge's envelope: the publish API's body, the RabbitMQ message body and the Kafka record
/// value alike. <see cref="Data"/> is any JSON; a JSON string is sent to clients verbatim.
/// </summary>
public sealed record Envelope(string? Channel, string? Event, JsonNode? Data, string? UserId = null, string? SessionId = null)
{
    /// <summary>Set once per message and kept when retrying it, so the edge delivers a retried publish once.</summary>
    public string Id { get; init; } = Guid.CreateVersion7().ToString("N");

    /// <summary>The channel the edge files it under: the channel, else the personal channel of the user or session (Kafka's key).</summary>
    [JsonIgnore]
    public string Key => Channel ?? (UserId is not null ? "user:" + UserId : "session:" + SessionId);

    public static JsonSerializerOptions Json { get; } = new(JsonSerializerDefaults.Web) { DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull };

    public byte[] ToUtf8Json() => JsonSerializer.SerializeToUtf8Bytes(this, Json);
}
