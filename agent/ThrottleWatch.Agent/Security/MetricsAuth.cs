using System.Security.Cryptography;
using System.Text;
using k8s.Models;
using Microsoft.AspNetCore.Http;

namespace ThrottleWatch.Agent.Security;

/// <summary>Who may read <c>/metrics</c>.</summary>
public interface IMetricsAuthorizer
{
    /// <summary>200 to serve, 401 for no or a bad token, 403 for a known caller without the right.</summary>
    Task<int> CheckAsync(string? bearerToken, CancellationToken cancel);
}

/// <summary>A static token from a file, read again when the file changes; compared in constant time.</summary>
public sealed class TokenFileAuthorizer(string path) : IMetricsAuthorizer
{
    private readonly Lock _gate = new();
    private byte[] _token = [];
    private DateTime _stamp;

    public Task<int> CheckAsync(string? bearerToken, CancellationToken cancel)
    {
        byte[] expected;
        lock (_gate)
        {
            var stamp = File.GetLastWriteTimeUtc(path);
            if (stamp != _stamp)
            {
                _token = Encoding.UTF8.GetBytes(File.ReadAllText(path).Trim());
                _stamp = stamp;
            }
            expected = _token;
        }
        if (bearerToken is null || expected.Length == 0)
        {
            return Task.FromResult(StatusCodes.Status401Unauthorized);
        }
        bool ok = CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(bearerToken), expected);
        return Task.FromResult(ok ? StatusCodes.Status200OK : StatusCodes.Status401Unauthorized);
    }
}

/// <summary>
/// The kube-rbac-proxy convention: the bearer token is checked with a TokenReview, and the caller's
/// right to <c>get</c> the non-resource URL <c>/metrics</c> with a SubjectAccessReview. Answers are
/// cached for a minute (by a hash of the token, never the token itself), at most 10,000 of them.
/// </summary>
public sealed class KubernetesAuthorizer(ThrottleWatch.Agent.Metadata.KubeApi client) : IMetricsAuthorizer
{
    private static readonly TimeSpan CacheFor = TimeSpan.FromMinutes(1);
    private const int MaxCached = 10_000;
    private readonly Dictionary<string, (int Status, DateTime At)> _cache = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public async Task<int> CheckAsync(string? bearerToken, CancellationToken cancel)
    {
        if (string.IsNullOrEmpty(bearerToken))
        {
            return StatusCodes.Status401Unauthorized;
        }
        var key = Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(bearerToken)));
        lock (_gate)
        {
            if (_cache.TryGetValue(key, out var hit) && DateTime.UtcNow - hit.At < CacheFor)
            {
                return hit.Status;
            }
        }
        int status;
        try
        {
            var review = await client.CreateTokenReviewAsync(new V1TokenReview
            {
                Spec = new V1TokenReviewSpec { Token = bearerToken },
            }, cancel).ConfigureAwait(false);
            if (review.Status?.Authenticated != true || review.Status.User is null)
            {
                status = StatusCodes.Status401Unauthorized;
            }
            else
            {
                var user = review.Status.User;
                var access = await client.CreateSubjectAccessReviewAsync(new V1SubjectAccessReview
                {
                    Spec = new V1SubjectAccessReviewSpec
                    {
                        User = user.Username,
                        Uid = user.Uid,
                        Groups = user.Groups,
                        NonResourceAttributes = new V1NonResourceAttributes { Path = "/metrics", Verb = "get" },
                    },
                }, cancel).ConfigureAwait(false);
                status = access.Status?.Allowed == true ? StatusCodes.Status200OK : StatusCodes.Status403Forbidden;
            }
        }
        catch (Exception e) when (e is k8s.Autorest.HttpOperationException or HttpRequestException)
        {
            // The API cannot say: refuse, and do not cache the refusal.
            return StatusCodes.Status503ServiceUnavailable;
        }
        lock (_gate)
        {
            if (_cache.Count >= MaxCached)
            {
                _cache.Clear();
            }
            _cache[key] = (status, DateTime.UtcNow);
        }
        return status;
    }
}
