using System.Text.Json;
using System.Text.Json.Nodes;

namespace ThrottleWatch.Dashboards;

/// <summary>
/// A small builder for Grafana dashboard JSON (schemaVersion 41): panels laid out left to right,
/// template variables, links. Only what ThrottleWatch's dashboards use.
/// </summary>
internal sealed class DashboardBuilder
{
    public const string DatasourceVar = "${datasource}";
    private readonly JsonArray _panels = [];
    private readonly JsonArray _variables = [];
    private readonly string _uid;
    private readonly string _title;
    private readonly string _description;
    private int _x;
    private int _y;
    private int _rowHeight;
    private int _nextId = 1;

    public DashboardBuilder(string uid, string title, string description)
    {
        _uid = uid;
        _title = title;
        _description = description;
        _variables.Add(new JsonObject
        {
            ["name"] = "datasource",
            ["label"] = "Data source",
            ["type"] = "datasource",
            ["query"] = "prometheus",
            ["hide"] = 0,
            ["current"] = new JsonObject(),
        });
    }

    private static JsonObject Datasource() => new() { ["type"] = "prometheus", ["uid"] = DatasourceVar };

    /// <summary>A query variable over label values; "All" matches every value, and series without the label.</summary>
    public DashboardBuilder Variable(string name, string label, string query, bool multi = true, bool includeAll = true, int hide = 0)
    {
        var v = new JsonObject
        {
            ["name"] = name,
            ["label"] = label,
            ["type"] = "query",
            ["datasource"] = Datasource(),
            ["query"] = new JsonObject { ["query"] = query, ["refId"] = "PrometheusVariableQueryEditor-VariableQuery" },
            ["refresh"] = 2,
            ["sort"] = 1,
            ["multi"] = multi,
            ["includeAll"] = includeAll,
            ["hide"] = hide,
            ["current"] = new JsonObject(),
        };
        if (includeAll)
        {
            v["allValue"] = ".*";
        }
        _variables.Add(v);
        return this;
    }

    public DashboardBuilder Row(string title)
    {
        NewLine();
        _panels.Add(new JsonObject
        {
            ["type"] = "row",
            ["id"] = _nextId++,
            ["title"] = title,
            ["collapsed"] = false,
            ["gridPos"] = Grid(24, 1),
            ["panels"] = new JsonArray(),
        });
        _y += 1;
        return this;
    }

    public DashboardBuilder TimeSeries(string title, string description, string unit, params Query[] queries)
        => Panel("timeseries", title, description, unit, 12, 8, queries, new JsonObject
        {
            ["legend"] = new JsonObject { ["displayMode"] = "table", ["placement"] = "bottom", ["showLegend"] = true, ["calcs"] = new JsonArray("max", "mean") },
            ["tooltip"] = new JsonObject { ["mode"] = "multi", ["sort"] = "desc" },
        });

    public DashboardBuilder Stat(string title, string description, string unit, Query query, int width = 6)
        => Panel("stat", title, description, unit, width, 4, [query], new JsonObject
        {
            ["reduceOptions"] = new JsonObject { ["calcs"] = new JsonArray("lastNotNull"), ["fields"] = "", ["values"] = false },
            ["colorMode"] = "value",
            ["graphMode"] = "area",
        });

    public DashboardBuilder Table(string title, string description, string unit, Query query, int width = 24)
        => Panel("table", title, description, unit, width, 9, [query with { Instant = true, Format = "table" }], new JsonObject
        {
            ["showHeader"] = true,
            ["sortBy"] = new JsonArray(new JsonObject { ["displayName"] = "Value", ["desc"] = true }),
        });

    private DashboardBuilder Panel(string type, string title, string description, string unit, int w, int h, Query[] queries, JsonObject options)
    {
        if (_x + w > 24)
        {
            NewLine();
        }
        var targets = new JsonArray();
        char refId = 'A';
        foreach (var q in queries)
        {
            var t = new JsonObject
            {
                ["refId"] = (refId++).ToString(),
                ["datasource"] = Datasource(),
                ["expr"] = q.Expr,
                ["legendFormat"] = q.Legend,
                ["range"] = !q.Instant,
                ["instant"] = q.Instant,
            };
            if (q.Format is not null)
            {
                t["format"] = q.Format;
            }
            targets.Add(t);
        }
        _panels.Add(new JsonObject
        {
            ["type"] = type,
            ["id"] = _nextId++,
            ["title"] = title,
            ["description"] = description,
            ["datasource"] = Datasource(),
            ["gridPos"] = Grid(w, h),
            ["fieldConfig"] = new JsonObject
            {
                ["defaults"] = new JsonObject { ["unit"] = unit },
                ["overrides"] = new JsonArray(),
            },
            ["options"] = options,
            ["targets"] = targets,
        });
        _x += w;
        _rowHeight = Math.Max(_rowHeight, h);
        return this;
    }

    private JsonObject Grid(int w, int h) => new() { ["h"] = h, ["w"] = w, ["x"] = _x, ["y"] = _y };

    private void NewLine()
    {
        if (_x > 0)
        {
            _y += _rowHeight;
            _x = 0;
            _rowHeight = 0;
        }
    }

    public JsonObject Build() => new()
    {
        ["uid"] = _uid,
        ["title"] = _title,
        ["description"] = _description,
        ["tags"] = new JsonArray("throttlewatch"),
        ["timezone"] = "browser",
        ["editable"] = true,
        ["graphTooltip"] = 1,
        ["schemaVersion"] = 41,
        ["version"] = 1,
        ["refresh"] = "30s",
        ["time"] = new JsonObject { ["from"] = "now-6h", ["to"] = "now" },
        ["templating"] = new JsonObject { ["list"] = JsonNode.Parse(_variables.ToJsonString()) },
        ["annotations"] = new JsonObject { ["list"] = new JsonArray() },
        ["links"] = new JsonArray(new JsonObject
        {
            ["title"] = "ThrottleWatch",
            ["type"] = "dashboards",
            ["tags"] = new JsonArray("throttlewatch"),
            ["asDropdown"] = true,
            ["includeVars"] = true,
            ["keepTime"] = true,
            ["icon"] = "external link",
            ["targetBlank"] = false,
            ["tooltip"] = "The other ThrottleWatch dashboards, with these variables",
            ["url"] = "",
        }),
        ["panels"] = JsonNode.Parse(_panels.ToJsonString()),
    };

    public static string Serialize(JsonObject dashboard)
        => dashboard.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";
}

/// <summary>One PromQL target.</summary>
internal sealed record Query(string Expr, string Legend = "", bool Instant = false, string? Format = null);
