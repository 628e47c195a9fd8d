using System.Buffers.Binary;
using System.Text;

namespace ThrottleWatch.Agent.Tests;

/// <summary>
/// How the shipped NativeAOT binary is laid out, which its resident memory depends on
/// (docs/performance.md, "Type data from the file"): the type structures in <c>.data</c>, paged in
/// from the file, not stored compressed and rebuilt at start into <c>.hydrated</c>; and an executable
/// at a fixed address (ELF type EXEC), whose <c>.data</c> the loader does not relocate page by page.
/// <c>scripts/test.sh</c> publishes the binary as the Dockerfile does and names it in THROTTLEWATCH_AOT_AGENT.
/// </summary>
public sealed class ShippedBuildTests
{
    private const ushort EtExec = 2;

    [Fact]
    public void The_nativeaot_binary_maps_its_type_data_from_the_file_at_a_fixed_address()
    {
        var binary = Environment.GetEnvironmentVariable("THROTTLEWATCH_AOT_AGENT");
        Assert.True(binary is { Length: > 0 } && File.Exists(binary),
            "THROTTLEWATCH_AOT_AGENT must name the NativeAOT agent (scripts/test.sh publishes it to out/agent-amd64 and sets it)");
        var (type, sections) = ReadElf(File.ReadAllBytes(binary!));

        Assert.True(type == EtExec, $"ELF type {type}: a position-independent executable (3) makes the loader write every page of its type data");
        Assert.Contains(".data", sections);
        Assert.Contains("__managedcode", sections);
        Assert.DoesNotContain(".hydrated", sections);
    }

    /// <summary>The ELF header's type and the names of the sections (64-bit little-endian ELF).</summary>
    private static (ushort Type, List<string> Sections) ReadElf(ReadOnlySpan<byte> elf)
    {
        Assert.True(elf.Length > 64 && elf[..4].SequenceEqual("\u007fELF"u8), "not an ELF file");
        Assert.Equal(2, elf[4]); // ELFCLASS64
        Assert.Equal(1, elf[5]); // little-endian
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(elf[16..]);
        long shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(elf[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3A..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3C..]);
        int shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(elf[0x3E..]);
        var names = elf.Slice((int)(long)BinaryPrimitives.ReadUInt64LittleEndian(elf[(int)(shoff + shstrndx * shentsize + 0x18)..]));
        var sections = new List<string>(shnum);
        for (int i = 0; i < shnum; i++)
        {
            int name = (int)BinaryPrimitives.ReadUInt32LittleEndian(elf[(int)(shoff + i * shentsize)..]);
            var z = names[name..];
            sections.Add(Encoding.ASCII.GetString(z[..z.IndexOf((byte)0)]));
        }
        return (type, sections);
    }
}
