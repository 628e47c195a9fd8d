using ThrottleWatch.Contracts;

namespace ThrottleWatch.Agent.Tests;

public class PromDurationTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("1s", 1000)]
    [InlineData("5m", 300_000)]
    [InlineData("1h30m", 5_400_000)]
    [InlineData("1m30s500ms", 90_500)]
    [InlineData("7d", 604_800_000)]
    [InlineData("1w", 604_800_000)]
    public void Parses(string text, long millis)
    {
        Assert.True(PromDuration.TryParse(text, out var d));
        Assert.Equal(TimeSpan.FromMilliseconds(millis), d);
    }

    [Theory]
    [InlineData("")]
    [InlineData("1")]
    [InlineData("s")]
    [InlineData("1.5s")]
    [InlineData("-1s")]
    [InlineData("1s1m")]
    [InlineData("1x")]
    [InlineData("1 s")]
    [InlineData("99999999999999999999y")]
    public void Rejects(string text) => Assert.False(PromDuration.TryParse(text, out _));

    [Theory]
    [InlineData(1000, "1s")]
    [InlineData(90_500, "1m30s500ms")]
    [InlineData(0, "0s")]
    public void Formats(long millis, string text) => Assert.Equal(text, PromDuration.Format(TimeSpan.FromMilliseconds(millis)));
}
