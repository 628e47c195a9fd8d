using System.Security.Cryptography.X509Certificates;

namespace ThrottleWatch.Agent.Security;

/// <summary>
/// The TLS certificate for <c>/metrics</c>, from PEM certificate and key files, read again when
/// either file changes (cert-manager and kubelet rotate them in place). A file caught half-written
/// keeps the previous certificate until the next check.
/// </summary>
public sealed class ReloadingCertificate(string certFile, string keyFile) : IDisposable
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(5);
    private readonly Lock _gate = new();
    private X509Certificate2? _current;
    private (DateTime Cert, DateTime Key) _stamp;
    private DateTime _checked = DateTime.MinValue;

    /// <summary>How many times the files were (re)loaded.</summary>
    public int Loads { get; private set; }

    /// <summary>The certificate now; throws on the first load when the files are unusable (start fails with one line).</summary>
    public X509Certificate2 Current
    {
        get
        {
            lock (_gate)
            {
                if (_current is null || DateTime.UtcNow - _checked >= CheckEvery)
                {
                    _checked = DateTime.UtcNow;
                    var stamp = (File.GetLastWriteTimeUtc(certFile), File.GetLastWriteTimeUtc(keyFile));
                    if (_current is null || stamp != _stamp)
                    {
                        try
                        {
                            var loaded = X509Certificate2.CreateFromPemFile(certFile, keyFile);
                            _current?.Dispose();
                            _current = loaded;
                            _stamp = stamp;
                            Loads++;
                        }
                        catch (Exception e) when (_current is not null && e is IOException or System.Security.Cryptography.CryptographicException)
                        {
                            // Mid-rotation: keep serving the previous certificate.
                        }
                    }
                }
                return _current!;
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            _current?.Dispose();
        }
    }
}
