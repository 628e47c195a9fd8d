using System.Collections.Concurrent;

namespace ThrottleWatch.Agent.Discovery;

/// <summary>
/// Finds Kubernetes pod and container cgroups under the cpu hierarchy, and the cgroups directly
/// under each <c>--cgroup-subtree</c> folder. Keeps the tree it saw, so a refresh only allocates for
/// folders that are new, and reports what appeared and what went.
/// </summary>
/// <remarks>
/// <para>Symbolic links inside the hierarchy are never followed (a loop or a link to another part of the
/// tree would count cgroups twice). Container folders are not descended into; pod folders only one
/// level. Everything else is walked, down to <see cref="MaxDepth"/>.</para>
/// <para>Every refresh lists every folder above the pods, so a pod that appears or goes is seen at
/// the next refresh, and lists a pod's folder (to find its containers) when the pod is
/// <em>unsettled</em>: it appeared after the first refresh, or a listing of it found a container come
/// or go, within the last <see cref="UnsettledRefreshes"/> refreshes; or someone asked for it
/// (<see cref="ListPodSoon"/>: a container of it vanished, or the API reported a change to the pod).
/// A settled pod's folder is listed every <see cref="SettledPodEvery"/>th refresh, the pods dealt
/// round those refreshes. At 2,000 containers listing every pod folder every refresh cost a fifth
/// of the agent's CPU; pods' container sets change when they start and when a container restarts.</para>
/// </remarks>
public sealed class ContainerDiscovery
{
    /// <summary>Deeper than any kubelet layout (kind's nesting is 5 levels to a container).</summary>
    public const int MaxDepth = 12;

    /// <summary>A settled pod's folder is listed every this many refreshes (at the default 5 s <c>--discovery-interval</c>: every 30 s).</summary>
    public const int SettledPodEvery = 6;

    /// <summary>For this many refreshes after a pod appeared or its containers changed, its folder is listed at every refresh (a minute at 5 s).</summary>
    public const int UnsettledRefreshes = 12;

    private readonly string _root;
    private readonly Node _top;
    private readonly List<string> _subtrees;
    private readonly Dictionary<string, CgroupIdentity> _current = new(StringComparer.Ordinal);
    private readonly DirectoryLister _lister = new();
    private readonly DirectoryLister.FolderCallback _onFolder;
    private readonly List<Node> _added = [];
    private Node? _listing;
    private Dictionary<string, Node>.AlternateLookup<ReadOnlySpan<char>> _listingLookup;
    private uint _generation;
    private uint _round;
    private int _nextPodSlot;
    private readonly ConcurrentQueue<string> _podRequests = new();
    private readonly HashSet<string> _podsAsked = new(StringComparer.Ordinal);

    /// <param name="cpuRoot">The cpu hierarchy's folder.</param>
    /// <param name="subtrees">Paths relative to <paramref name="cpuRoot"/> whose direct children are reported as containers.</param>
    public ContainerDiscovery(string cpuRoot, IEnumerable<string>? subtrees = null)
    {
        _root = cpuRoot.TrimEnd('/');
        if (_root.Length == 0)
        {
            _root = "/";
        }
        _subtrees = (subtrees ?? []).Select(NormaliseRelative).Distinct(StringComparer.Ordinal).ToList();
        _top = new Node(_root, "/", "", NodeRole.Plain, underKubepods: false, depth: 0, identity: null);
        MarkSubtree(_top);
        _onFolder = OnFolder;
    }

    /// <summary>Folders that were listed in the last refresh (a measure of its cost).</summary>
    public int FoldersListed { get; private set; }

    /// <summary>Pod folders the last refresh did not list: settled, not due, not asked for.</summary>
    public int PodsSkipped { get; private set; }

    /// <summary>
    /// Asks for the folder of the pod with this UID (or, for a static pod, this config hash: the name
    /// its cgroup has) to be listed at the next refresh, settled or not. Safe from any thread.
    /// </summary>
    public void ListPodSoon(string podUid) => _podRequests.Enqueue(podUid);

    /// <summary>True when <see cref="ListPodSoon"/> asked for pods that no refresh has listed yet.</summary>
    public bool PodsRequested => !_podRequests.IsEmpty;

    /// <summary>Everything discovered by the last refresh, by cgroup path.</summary>
    public IReadOnlyDictionary<string, CgroupIdentity> Current => _current;

    /// <summary>Walks the tree and returns what appeared and what went since the last refresh.</summary>
    public DiscoveryChanges Refresh() => Walk(onlyRequested: false);

    /// <summary>
    /// Lists only the folders of the pods <see cref="ListPodSoon"/> asked for (a pod the API reported
    /// changed): what appeared and went in them. Not a round of the settled pods' schedule.
    /// </summary>
    public DiscoveryChanges RefreshRequested() => Walk(onlyRequested: true);

    private DiscoveryChanges Walk(bool onlyRequested)
    {
        _generation++;
        if (!onlyRequested)
        {
            _round++;
        }
        FoldersListed = 0;
        PodsSkipped = 0;
        while (_podRequests.TryDequeue(out var uid))
        {
            _podsAsked.Add(uid);
        }
        var changes = new DiscoveryChanges();
        Visit(_top, changes, onlyRequested);
        _podsAsked.Clear();
        return changes;
    }

    /// <summary>Absolute folder of a cgroup path under this hierarchy's root.</summary>
    public string AbsolutePath(string cgroupPath) => _root == "/" ? cgroupPath : _root + cgroupPath;

    private void Visit(Node node, DiscoveryChanges changes, bool onlyRequested)
    {
        if (node.Role == NodeRole.Container || node.Depth >= MaxDepth)
        {
            return;
        }
        if (node.Role == NodeRole.Pod)
        {
            bool asked = _podsAsked.Contains(node.Identity!.PodUid!);
            bool due = onlyRequested
                ? asked
                : asked || !node.Listed || node.UnsettledUntil >= _round || (_round + (uint)node.Slot) % SettledPodEvery == 0;
            if (!due)
            {
                PodsSkipped++;
                return;
            }
            // A pod's first listing finds all its containers: not a change that unsettles it.
            if (List(node, changes) && node.Listed)
            {
                node.UnsettledUntil = _round + UnsettledRefreshes;
            }
            node.Listed = true;
            return;
        }
        if (!onlyRequested)
        {
            List(node, changes);
        }
        foreach (var child in node.Children.Values)
        {
            if (child.Role is NodeRole.Plain or NodeRole.SubtreeParent or NodeRole.Pod)
            {
                Visit(child, changes, onlyRequested);
            }
        }
    }

    /// <summary>Lists one folder; true when a subfolder appeared or went.</summary>
    private bool List(Node node, DiscoveryChanges changes)
    {
        FoldersListed++;
        uint gen = _generation;
        _listing = node;
        _listingLookup = node.Children.GetAlternateLookup<ReadOnlySpan<char>>();
        _added.Clear();
        var status = _lister.ListFolders(node.FullPath, _onFolder);
        _listing = null;
        if (status == ListStatus.Failed && Directory.Exists(node.FullPath))
        {
            // A folder still there that could not be listed (EMFILE, ENOMEM) keeps what it had:
            // nothing is reported gone by mistake. A folder that went (ENOENT, ENODEV, even
            // mid-listing) loses its children below.
            foreach (var child in node.Children.Values)
            {
                child.Seen = gen;
            }
        }
        bool changed = _added.Count > 0;
        foreach (var child in _added)
        {
            node.Children[child.Name] = child;
            if (child.Identity is not null)
            {
                _current[child.Identity.CgroupPath] = child.Identity;
                changes.Added.Add(child.Identity);
            }
        }

        List<string>? gone = null;
        foreach (var (name, child) in node.Children)
        {
            if (child.Seen != gen)
            {
                (gone ??= []).Add(name);
            }
        }
        if (gone is not null)
        {
            changed = true;
            foreach (var name in gone)
            {
                var child = node.Children[name];
                node.Children.Remove(name);
                Forget(child, changes);
            }
        }
        return changed;
    }

    /// <summary>One subfolder of the folder being listed: known ones are marked seen; only new names allocate.</summary>
    private void OnFolder(ReadOnlySpan<char> name)
    {
        if (_listingLookup.TryGetValue(name, out var known))
        {
            known.Seen = _generation;
            return;
        }
        var fresh = Classify(_listing!, name.ToString());
        fresh.Seen = _generation;
        _added.Add(fresh);
    }

    private void Forget(Node node, DiscoveryChanges changes)
    {
        if (node.Identity is not null && _current.Remove(node.Identity.CgroupPath))
        {
            changes.Removed.Add(node.Identity);
        }
        foreach (var child in node.Children.Values)
        {
            Forget(child, changes);
        }
    }

    private Node Classify(Node parent, string name)
    {
        string rel = parent.RelativePath == "/" ? "/" + name : parent.RelativePath + "/" + name;
        // Only folders that are listed keep their absolute path: a container's is never listed.
        string Full() => parent.FullPath == "/" ? "/" + name : parent.FullPath + "/" + name;
        int depth = parent.Depth + 1;
        bool underKube = parent.UnderKubepods || KubeletLayout.IsKubepodsName(name);

        if (parent.Role == NodeRole.Pod)
        {
            if (KubeletLayout.TryParseContainer(name, out var cid, out var runtime))
            {
                var id = new CgroupIdentity(CgroupKind.Container, rel, parent.Identity!.PodUid, cid, parent.Identity.Qos, runtime);
                return new Node(null, rel, name, NodeRole.Container, underKube, depth, id);
            }
            return new Node(null, rel, name, NodeRole.Ignored, underKube, depth, null);
        }
        if (parent.Role == NodeRole.SubtreeParent)
        {
            var id = new CgroupIdentity(CgroupKind.Subtree, rel, null, null, null, "unknown");
            var leaf = new Node(null, rel, name, NodeRole.Container, underKube, depth, id);
            return leaf;
        }
        if (parent.UnderKubepods && KubeletLayout.TryParsePod(name, out var uid))
        {
            var qos = KubeletLayout.QosOf(parent.Name, name);
            var id = new CgroupIdentity(CgroupKind.Pod, rel, uid, null, qos, "");
            // A pod found by the first refresh was there before the agent: settled. One that appears
            // later is starting: its containers come over the next seconds.
            return new Node(Full(), rel, name, NodeRole.Pod, underKube, depth, id)
            {
                Slot = _nextPodSlot++ & int.MaxValue,
                UnsettledUntil = _round == 1 ? 0 : _round + UnsettledRefreshes,
            };
        }
        var plain = new Node(Full(), rel, name, NodeRole.Plain, underKube, depth, null);
        MarkSubtree(plain);
        return plain;
    }

    private void MarkSubtree(Node node)
    {
        if (_subtrees.Contains(node.RelativePath))
        {
            node.Role = NodeRole.SubtreeParent;
        }
    }

    private static string NormaliseRelative(string path)
    {
        var trimmed = path.Trim().Trim('/');
        return trimmed.Length == 0 ? "/" : "/" + trimmed;
    }

    private enum NodeRole : byte
    {
        Plain,
        Pod,
        Container,
        SubtreeParent,
        Ignored,
    }

    /// <param name="fullPath">The absolute path of a folder that is listed; null for a leaf (a container or an ignored folder).</param>
    private sealed class Node(string? fullPath, string relativePath, string name, NodeRole role, bool underKubepods, int depth, CgroupIdentity? identity)
    {
        public string FullPath => fullPath ?? throw new InvalidOperationException($"{RelativePath} is a leaf: it is never listed");
        public string RelativePath { get; } = relativePath;
        public string Name { get; } = name;
        public NodeRole Role { get; set; } = role;
        public bool UnderKubepods { get; } = underKubepods;
        public int Depth { get; } = depth;
        public CgroupIdentity? Identity { get; } = identity;
        public uint Seen { get; set; }
        /// <summary>A pod's: which of the <see cref="SettledPodEvery"/> refreshes lists it when settled.</summary>
        public int Slot { get; init; }
        /// <summary>A pod's: the last refresh (round) that lists it because it is unsettled.</summary>
        public uint UnsettledUntil { get; set; }
        /// <summary>A pod's: its folder was listed once.</summary>
        public bool Listed { get; set; }
        /// <summary>
        /// The subfolders found. A leaf (a container: no full path, never listed) shares one empty
        /// dictionary nothing adds to: a dictionary per container was 160 KiB at 2,000 containers.
        /// </summary>
        public Dictionary<string, Node> Children { get; } = fullPath is null ? NoChildren : new(StringComparer.Ordinal);
    }

    private static readonly Dictionary<string, Node> NoChildren = new(StringComparer.Ordinal);
}

/// <summary>What one refresh found new and found gone.</summary>
public sealed class DiscoveryChanges
{
    public List<CgroupIdentity> Added { get; } = [];
    public List<CgroupIdentity> Removed { get; } = [];
}
