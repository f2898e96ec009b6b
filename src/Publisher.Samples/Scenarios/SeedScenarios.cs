using System.Globalization;
using System.Text.Json.Nodes;

namespace Publisher.Samples.Scenarios;

/// <summary>The scenarios of the seed systems, by name (<c>publisher &lt;target&gt; &lt;scenario&gt;</c>).</summary>
public static class SeedScenarios
{
    public static IReadOnlyList<Scenario> All { get; } =
    [
        new("orders", "order lifecycle: an `update` per status (placed, paid, shipped) and a `notification` toast; channel orders", 3, 2, Orders),
        new("notification", "one `notification` toast per step; channel orders", 1, 5, Notification),
        new("sync", "`syncProgress` 0..100 and `syncMessage` to one session (--session)", 11, 4, Sync, NeedsSession),
        new("document-lock", "`documentLocked` to every session but the first (--session a --session b ...), which holds the lock", 1, 2, DocumentLock, NeedsTwoSessions),
        new("pdf", "`pdfProcessed` (success, every fourth an error) to one session (--session)", 1, 2, Pdf, NeedsSession),
        new("i18n-debug", "admin `i18n_debug` log lines (text); channel notify.i18n_debug", 5, 5, I18nDebug),
        new("chat", "htmx chat fragments (HTML, default event); channel chat.lobby", 5, 2, Chat),
        new("task-progress", "htmx progress tracker: `status`, `percent` and a `bar` fragment; channel tasks.demo", 11, 4, TaskProgress),
    ];

    public static Scenario? Find(string name) => All.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));

    private static string? NeedsSession(ScenarioContext context) =>
        context.Sessions.Count > 0 ? null : "needs --session (the page shows its session id)";

    private static string? NeedsTwoSessions(ScenarioContext context) =>
        context.Sessions.Count >= 2 ? null : "needs two or more --session: the first holds the lock, the others are told";

    private static IReadOnlyList<Envelope> Orders(ScenarioContext context, int step)
    {
        var channel = context.Channel ?? "orders";
        var orderId = 12345 + (step / 3);
        Envelope Update(string action, string status) => new(channel, "update", new JsonObject
        {
            ["type"] = "update",
            ["entity"] = "order",
            ["action"] = action,
            ["payload"] = new JsonObject { ["orderId"] = orderId, ["status"] = status, ["updatedAt"] = DateTimeOffset.UtcNow.ToString("O") },
        }, context.User);

        return (step % 3) switch
        {
            0 => [Update("created", "placed"), Toast(channel, context.User, "info", "New order", $"Order #{orderId} placed")],
            1 => [Update("updated", "paid")],
            _ => [Update("updated", "shipped"), Toast(channel, context.User, "success", "Order Completed", $"Your order #{orderId} has been shipped")],
        };
    }

    private static IReadOnlyList<Envelope> Notification(ScenarioContext context, int step) =>
        [Toast(context.Channel ?? "orders", context.User, "info", "From the publisher", $"Notification {step + 1} of {context.Count}")];

    private static Envelope Toast(string channel, string? user, string kind, string title, string message) => new(channel, "notification", new JsonObject
    {
        ["type"] = "notification",
        ["notificationType"] = kind,
        ["title"] = title,
        ["message"] = message,
        ["duration"] = 5000,
    }, user);

    // Seed: data=str(progress) to one session; the page's progress bar reads parseInt(event.data).
    private static IReadOnlyList<Envelope> Sync(ScenarioContext context, int step)
    {
        var percent = context.Count <= 1 ? 100 : Math.Min(100, step * 100 / (context.Count - 1));
        var session = context.Sessions[0];
        return
        [
            new(context.Channel, "syncProgress", JsonValue.Create(percent.ToString(CultureInfo.InvariantCulture)), SessionId: session),
            new(context.Channel, "syncMessage", JsonValue.Create(percent < 100 ? $"Processing file-{step + 1}.md" : "Sync complete"), SessionId: session),
        ];
    }

    // Seed: "for other_session_id in active_sessions: if other_session_id != session_id: send_event(...)".
    private static IReadOnlyList<Envelope> DocumentLock(ScenarioContext context, int step)
    {
        var holder = context.Sessions[0];
        var data = new JsonObject { ["stable_id"] = $"doc-{step + 1}", ["locked_by"] = context.User ?? "ann", ["session"] = holder };
        return context.Sessions.Skip(1).Select(other => new Envelope(context.Channel, "documentLocked", data.DeepClone(), SessionId: other)).ToList();
    }

    private static IReadOnlyList<Envelope> Pdf(ScenarioContext context, int step)
    {
        var data = step % 4 == 3
            ? new JsonObject { ["pdf_id"] = $"pdf-{step + 1}", ["status"] = "error", ["error"] = "the file is encrypted" }
            : new JsonObject { ["pdf_id"] = $"pdf-{step + 1}", ["status"] = "success", ["text_length"] = 1200 + (step * 37) };
        return [new(context.Channel, "pdfProcessed", data, SessionId: context.Sessions[0])];
    }

    private static readonly string[] MissingKeys = ["checkout.title", "cart.empty", "orders.shipped", "profile.save", "nav.help"];

    private static IReadOnlyList<Envelope> I18nDebug(ScenarioContext context, int step) =>
        [new(context.Channel ?? "notify.i18n_debug", "i18n_debug", JsonValue.Create($"[i18n] de-DE: missing key '{MissingKeys[step % MissingKeys.Length]}', fell back to en"), context.User)];

    private static IReadOnlyList<Envelope> Chat(ScenarioContext context, int step)
    {
        var name = System.Net.WebUtility.HtmlEncode(context.User ?? "publisher");
        return [new(context.Channel ?? "chat.lobby", null, JsonValue.Create($"<div class=\"chat-line\"><b>{name}</b> message {step + 1} of {context.Count}</div>"))];
    }

    // Seed (htmx progress tracker): sse-swap="status", "percent" and "bar:outerHTML".
    private static IReadOnlyList<Envelope> TaskProgress(ScenarioContext context, int step)
    {
        var channel = context.Channel ?? "tasks.demo";
        var percent = context.Count <= 1 ? 100 : Math.Min(100, step * 100 / (context.Count - 1));
        return
        [
            new(channel, "status", JsonValue.Create(percent < 100 ? $"Processing step {step + 1}" : "Done")),
            new(channel, "percent", JsonValue.Create($"{percent}%")),
            new(channel, "bar", JsonValue.Create($"<div id=\"progress-bar\" class=\"h-full bg-blue-500\" style=\"width: {percent}%\"></div>")),
        ];
    }
}
