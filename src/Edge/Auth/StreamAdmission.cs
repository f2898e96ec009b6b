using System.Globalization;
using Edge.Brokers.Envelopes;
using Edge.Streams;
using Edge.Subscribing;

namespace Edge.Auth;

/// <summary>Who a stream request is and which channels it gets, or why it is refused.</summary>
internal sealed record StreamAdmission(string? UserId, string? SessionId, List<string> Channels);

/// <summary>
/// Works out a request's user, session and channels from its identity: in Anonymous mode from the
/// query and headers named by <c>Identity</c>; otherwise only what the credentials vouch for.
/// Every requested channel is checked against the grant, the personal-channel rule and the roles.
/// </summary>
internal static class StreamAdmissionResolver
{
    public static StreamAdmission? Resolve(HttpContext context, StreamDefinition stream, EdgeIdentity identity, ChannelRoleMap roles, out StreamRefusal? refusal)
    {
        var options = stream.Options.Identity;
        if (!TryRead(context, options.UserIdQuery, options.UserIdHeader, out var askedUser, out var problem)
            || !TryRead(context, options.SessionIdQuery, options.SessionIdHeader, out var askedSession, out problem))
        {
            refusal = StreamRefusal.Permanent(StatusCodes.Status400BadRequest, "invalid-identity", problem!);
            return null;
        }

        string? userId, sessionId;
        if (identity.VouchedSessionIds is null)
        {
            // Anonymous mode: the request names itself.
            userId = askedUser;
            sessionId = askedSession;
        }
        else
        {
            userId = identity.UserId;
            if (askedUser is not null && !string.Equals(askedUser, userId, StringComparison.Ordinal))
            {
                refusal = StreamRefusal.Permanent(StatusCodes.Status403Forbidden, "user-mismatch", $"The user '{Printable(askedUser)}' asked for is not the authenticated user.");
                return null;
            }

            if (askedSession is not null)
            {
                if (!identity.VouchedSessionIds.Contains(askedSession, StringComparer.Ordinal))
                {
                    refusal = StreamRefusal.Permanent(StatusCodes.Status403Forbidden, "session-not-vouched", $"The session '{Printable(askedSession)}' is not vouched for by the credentials.");
                    return null;
                }

                sessionId = askedSession;
            }
            else
            {
                sessionId = identity.VouchedSessionIds.Count == 1 ? identity.VouchedSessionIds[0] : null;
            }

            if ((userId is not null && EnvelopeLimits.CheckIdentity(userId) is not null) || (sessionId is not null && EnvelopeLimits.CheckIdentity(sessionId) is not null))
            {
                refusal = StreamRefusal.Permanent(StatusCodes.Status401Unauthorized, "unusable-identity", "The credentials carry a user or session id that cannot be used.");
                return null;
            }
        }

        var channels = new List<string>();
        var seen = new ChannelList(channels);
        var routeValues = context.Request.RouteValues;
        foreach (var template in stream.ChannelTemplates)
        {
            var channel = template.Resolve(routeValues);
            if (EnvelopeLimits.CheckChannel(channel) is { } reason)
            {
                refusal = StreamRefusal.Permanent(StatusCodes.Status400BadRequest, "invalid-channel", $"The path gives the channel '{Printable(channel)}', which {reason}.");
                return null;
            }

            if (roles.MissingRoles(channel, identity.Roles) is not null)
            {
                // A stream default the client lacks the role for is left out, not refused.
                continue;
            }

            if (template.IsParameterized && identity.Channels is { } pathGrant && !pathGrant.Allows(channel) && !roles.GrantedByRole(channel, identity.Roles))
            {
                refusal = StreamRefusal.Permanent(StatusCodes.Status403Forbidden, "channel-not-granted", $"The channel '{Printable(channel)}' is not granted to you.");
                return null;
            }

            if (seen.Add(channel))
            {
                channels.Add(channel);
            }
        }

        var queryName = stream.Options.ChannelsQuery;
        if (!string.IsNullOrEmpty(queryName) && context.Request.Query.TryGetValue(queryName, out var values))
        {
            var requested = 0;
            foreach (var value in values)
            {
                foreach (var part in (value ?? string.Empty).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
                {
                    if (++requested > stream.Options.MaxChannels)
                    {
                        refusal = StreamRefusal.Permanent(StatusCodes.Status400BadRequest, "too-many-channels", string.Create(CultureInfo.InvariantCulture, $"At most {stream.Options.MaxChannels} channels may be requested in '{queryName}'."));
                        return null;
                    }

                    if (EnvelopeLimits.CheckChannel(part) is { } reason)
                    {
                        refusal = StreamRefusal.Permanent(StatusCodes.Status400BadRequest, "invalid-channel", $"The channel '{Printable(part)}' in '{queryName}' {reason}.");
                        return null;
                    }

                    if (part.Contains('*', StringComparison.Ordinal))
                    {
                        refusal = StreamRefusal.Permanent(StatusCodes.Status400BadRequest, "wildcard-channel", $"The channel '{Printable(part)}' in '{queryName}' is a pattern; ask for channels by name.");
                        return null;
                    }

                    var personal = part.StartsWith("user:", StringComparison.Ordinal) || part.StartsWith("session:", StringComparison.Ordinal);
                    if (personal && !IsOwnPersonalChannel(part, userId, sessionId))
                    {
                        refusal = StreamRefusal.Permanent(StatusCodes.Status403Forbidden, "channel-of-someone-else", $"The channel '{Printable(part)}' belongs to someone else.");
                        return null;
                    }

                    if (!personal && identity.Channels is { } grant && !grant.Allows(part) && !roles.GrantedByRole(part, identity.Roles))
                    {
                        refusal = StreamRefusal.Permanent(StatusCodes.Status403Forbidden, "channel-not-granted", $"The channel '{Printable(part)}' is not granted to you.");
                        return null;
                    }

                    if (roles.MissingRoles(part, identity.Roles) is { } needed)
                    {
                        refusal = StreamRefusal.Permanent(StatusCodes.Status403Forbidden, "channel-needs-role", $"The channel '{Printable(part)}' needs one of the roles: {string.Join(", ", needed)}.");
                        return null;
                    }

                    if (seen.Add(part))
                    {
                        channels.Add(part);
                    }
                }
            }
        }

        if (userId is not null && seen.Add(EventEnvelope.UserChannel(userId)))
        {
            channels.Add(EventEnvelope.UserChannel(userId));
        }

        if (sessionId is not null && seen.Add(EventEnvelope.SessionChannel(sessionId)))
        {
            channels.Add(EventEnvelope.SessionChannel(sessionId));
        }

        refusal = null;
        return new StreamAdmission(userId, sessionId, channels);
    }

    /// <summary>Adds each channel once: a scan while the list is short (the usual case), a set beyond that.</summary>
    private struct ChannelList(List<string> channels)
    {
        private const int ScanLimit = 16;
        private HashSet<string>? _set;

        public bool Add(string channel)
        {
            if (_set is null && channels.Count < ScanLimit)
            {
                foreach (var known in channels)
                {
                    if (string.Equals(known, channel, StringComparison.Ordinal))
                    {
                        return false;
                    }
                }

                return true;
            }

            _set ??= new HashSet<string>(channels, StringComparer.Ordinal);
            return _set.Add(channel);
        }
    }

    private static bool TryRead(HttpContext context, string? queryName, string? headerName, out string? value, out string? problem)
    {
        value = null;
        problem = null;
        string? fromQuery = null, fromHeader = null;
        if (!string.IsNullOrEmpty(queryName) && context.Request.Query.TryGetValue(queryName, out var q) && q.Count > 0 && !string.IsNullOrEmpty(q[0]))
        {
            fromQuery = q[0];
        }

        if (!string.IsNullOrEmpty(headerName) && context.Request.Headers.TryGetValue(headerName, out var h) && h.Count > 0 && !string.IsNullOrEmpty(h[0]))
        {
            fromHeader = h[0];
        }

        if (fromQuery is not null && fromHeader is not null && !string.Equals(fromQuery, fromHeader, StringComparison.Ordinal))
        {
            problem = $"The query parameter '{queryName}' and the header '{headerName}' disagree.";
            return false;
        }

        value = fromQuery ?? fromHeader;
        if (value is not null && EnvelopeLimits.CheckIdentity(value) is { } reason)
        {
            problem = $"'{(fromQuery is not null ? queryName : headerName)}' {reason}.";
            value = null;
            return false;
        }

        return true;
    }

    private static bool IsOwnPersonalChannel(string channel, string? userId, string? sessionId)
    {
        if (channel.StartsWith("user:", StringComparison.Ordinal))
        {
            return userId is not null && string.Equals(channel, EventEnvelope.UserChannel(userId), StringComparison.Ordinal);
        }

        return sessionId is not null && string.Equals(channel, EventEnvelope.SessionChannel(sessionId), StringComparison.Ordinal);
    }

    /// <summary>Client text quoted in an answer, with control characters shown escaped and length bounded.</summary>
    public static string Printable(string value)
    {
        var text = value.Length > 100 ? value[..100] + "…" : value;
        return EnvelopeLimits.IsLineSafe(text) ? text : System.Text.Json.JsonEncodedText.Encode(text).ToString();
    }
}
