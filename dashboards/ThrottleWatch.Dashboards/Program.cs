using ThrottleWatch.Dashboards;

// throttlewatch-dashboards [OUTDIR]: writes the dashboards' JSON (default: the dashboards/ folder
// next to this project). The committed JSON must equal a fresh generation; a test checks it.
var outDir = args.Length > 0 ? args[0] : Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", ".."));
if (args.Length == 0 && !File.Exists(Path.Combine(outDir, "ThrottleWatch.Dashboards", "ThrottleWatch.Dashboards.csproj")))
{
    Console.Error.WriteLine("error: pass the output folder (the repository's dashboards/)");
    return 2;
}
foreach (var (name, dashboard) in Dashboards.All())
{
    var path = Path.Combine(outDir, name);
    File.WriteAllText(path, DashboardBuilder.Serialize(dashboard));
    Console.WriteLine(path);
}
return 0;
