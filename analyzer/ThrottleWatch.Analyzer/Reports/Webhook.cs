using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace ThrottleWatch.Analyzer.Reports;

/// <summary>How a webhook post went: the HTTP status when there was an answer, and what failed when not 2xx.</summary>
internal sealed record WebhookResult(bool Success, int? StatusCode, string? Error);

/// <summary>Posts the Markdown summary to a Slack-compatible incoming webhook.</summary>
internal static class Webhook
{
    /// <summary>At most this much of a failed answer's body goes into <see cref="WebhookResult.Error"/>.</summary>
    private const int MaxErrorBody = 300;

    /// <summary>
    /// <c>{"text": "…"}</c>, the body Slack's incoming webhooks (and Mattermost's, and Rocket.Chat's)
    /// take. The summary goes as it is: it is written to read right as Slack mrkdwn too.
    /// </summary>
    public static string BuildSlackPayload(string markdownSummary)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("text", markdownSummary);
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>
    /// POSTs <paramref name="payload"/> as <c>application/json</c>. Never throws for an answer that is
    /// not 2xx or for a network error (those come back as a failed <see cref="WebhookResult"/>); only
    /// <paramref name="cancellationToken"/> being cancelled throws.
    /// </summary>
    public static async Task<WebhookResult> PostAsync(HttpClient client, Uri url, string payload, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        using var content = new StringContent(payload, Encoding.UTF8);
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        try
        {
            using var response = await client.PostAsync(url, content, cancellationToken).ConfigureAwait(false);
            int status = (int)response.StatusCode;
            if (response.IsSuccessStatusCode)
            {
                return new WebhookResult(true, status, null);
            }
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            if (body.Length > MaxErrorBody)
            {
                body = body[..MaxErrorBody] + "…";
            }
            body = body.ReplaceLineEndings(" ").Trim();
            return new WebhookResult(false, status, $"HTTP {status} {response.ReasonPhrase}{(body.Length > 0 ? ": " + body : "")}");
        }
        catch (HttpRequestException e)
        {
            return new WebhookResult(false, e.StatusCode is { } s ? (int)s : null, e.Message.ReplaceLineEndings(" "));
        }
        catch (TaskCanceledException e) when (!cancellationToken.IsCancellationRequested)
        {
            return new WebhookResult(false, null, "timed out: " + e.Message.ReplaceLineEndings(" "));
        }
    }
}
