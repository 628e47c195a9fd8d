using System.Text.Json;
using ThrottleWatch.Contracts;

namespace ThrottleWatch.Analyzer.Reports;

/// <summary>
/// The JSON contracts as text, through the source-generated <see cref="RecommendationJsonContext"/>
/// (camelCase, indented, nulls written). The text ends with a newline.
/// </summary>
internal static class JsonReport
{
    /// <summary>The output of <c>recommend --format json</c>.</summary>
    public static string Recommendations(RecommendationDocument document)
        => JsonSerializer.Serialize(document, RecommendationJsonContext.Default.RecommendationDocument) + "\n";

    /// <summary><c>report.json</c>.</summary>
    public static string Report(ReportDocument document)
        => JsonSerializer.Serialize(document, RecommendationJsonContext.Default.ReportDocument) + "\n";
}
