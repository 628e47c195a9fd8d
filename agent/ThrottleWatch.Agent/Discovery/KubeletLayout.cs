namespace ThrottleWatch.Agent.Discovery;

/// <summary>
/// The kubelet's cgroup names, matched by pattern rather than from a fixed root so that nested
/// clusters (kind's <c>kubelet.slice/kubelet-kubepods.slice/…</c>) and a moved <c>cgroupRoot</c> work.
/// </summary>
/// <remarks>
/// <code>
/// cgroupfs  kubepods/pod&lt;uid&gt;/&lt;cid&gt;
///           kubepods/burstable/pod&lt;uid&gt;/&lt;cid&gt;                          (besteffort alike)
/// systemd   kubepods.slice/kubepods-pod&lt;uid_&gt;.slice/cri-containerd-&lt;cid&gt;.scope
///           kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod&lt;uid_&gt;.slice/crio-&lt;cid&gt;.scope
/// </code>
/// <c>&lt;uid_&gt;</c> is the UID with '_' for '-'; a static pod's UID is a 32-hex config hash.
/// <c>&lt;cid&gt;</c> is 64 hex. <c>crio-conmon-&lt;cid&gt;.scope</c> is CRI-O's monitor, not a container.
/// </remarks>
public static class KubeletLayout
{
    /// <summary>True for a folder name that belongs to the kubepods tree (<c>kubepods</c>, <c>kubelet-kubepods.slice</c>, …).</summary>
    public static bool IsKubepodsName(ReadOnlySpan<char> name) => name.Contains("kubepods", StringComparison.Ordinal);

    /// <summary>Recognises a pod folder and returns its UID with dashes (or the static pod's hash).</summary>
    public static bool TryParsePod(ReadOnlySpan<char> name, out string podUid)
    {
        podUid = "";
        ReadOnlySpan<char> raw;
        if (name.EndsWith(".slice", StringComparison.Ordinal))
        {
            int at = name.LastIndexOf("-pod", StringComparison.Ordinal);
            if (at < 0)
            {
                return false;
            }
            raw = name[(at + 4)..^6];
        }
        else if (name.StartsWith("pod", StringComparison.Ordinal))
        {
            raw = name[3..];
        }
        else
        {
            return false;
        }
        if (raw.Length == 32 && IsHex(raw))
        {
            podUid = raw.ToString();
            return true;
        }
        if (raw.Length == 36 && IsUuid(raw))
        {
            podUid = raw.ToString().Replace('_', '-');
            return true;
        }
        return false;
    }

    /// <summary>Recognises a container folder under a pod folder: its id and runtime.</summary>
    public static bool TryParseContainer(ReadOnlySpan<char> name, out string containerId, out string runtime)
    {
        containerId = "";
        runtime = "unknown";
        if (name.EndsWith(".scope", StringComparison.Ordinal))
        {
            name = name[..^6];
        }
        if (name.Length == 64)
        {
            if (!IsHex(name))
            {
                return false;
            }
            containerId = name.ToString();
            return true;
        }
        if (name.Length <= 64 || name[^65] != '-')
        {
            return false;
        }
        var prefix = name[..^65];
        var id = name[^64..];
        if (!IsHex(id))
        {
            return false;
        }
        runtime = prefix switch
        {
            "cri-containerd" => "containerd",
            "crio" => "crio",
            "docker" => "docker",
            _ => "",
        };
        if (runtime.Length == 0)
        {
            runtime = "unknown";
            return false; // crio-conmon-<cid>, or something that is not a container
        }
        containerId = id.ToString();
        return true;
    }

    /// <summary>
    /// The QoS class of a pod folder from its own name and its parent's: a <c>besteffort</c> or
    /// <c>burstable</c> level, else guaranteed (directly under kubepods).
    /// </summary>
    public static QosClass QosOf(ReadOnlySpan<char> parentName, ReadOnlySpan<char> podName)
    {
        if (podName.Contains("besteffort", StringComparison.Ordinal) || parentName.Contains("besteffort", StringComparison.Ordinal))
        {
            return QosClass.BestEffort;
        }
        if (podName.Contains("burstable", StringComparison.Ordinal) || parentName.Contains("burstable", StringComparison.Ordinal))
        {
            return QosClass.Burstable;
        }
        return QosClass.Guaranteed;
    }

    private static bool IsHex(ReadOnlySpan<char> s)
    {
        foreach (char c in s)
        {
            if (!char.IsAsciiHexDigitLower(c) && !char.IsAsciiDigit(c))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>8-4-4-4-12 hex groups separated by '-' (cgroupfs) or '_' (systemd).</summary>
    private static bool IsUuid(ReadOnlySpan<char> s)
    {
        char sep = s[8];
        if (sep is not ('-' or '_'))
        {
            return false;
        }
        for (int i = 0; i < s.Length; i++)
        {
            bool dash = i is 8 or 13 or 18 or 23;
            if (dash ? s[i] != sep : !char.IsAsciiHexDigit(s[i]))
            {
                return false;
            }
        }
        return true;
    }
}
