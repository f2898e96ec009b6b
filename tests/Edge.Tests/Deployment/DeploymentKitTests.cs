using System.Net;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Edge.Configuration;
using Edge.Hosting;
using Edge.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit;
using YamlDotNet.RepresentationModel;

namespace Edge.Tests.Deployment;

/// <summary>
/// The Dockerfile, docker-compose.yml and deploy/k8s: every file parses, every configuration they
/// mount is a file of config/ that starts with the environment they give it, and every port and
/// path they name agrees with that configuration. No container engine runs here.
/// </summary>
public sealed partial class DeploymentKitTests
{
    private static readonly string[] Profiles = ["embedded", "rabbitmq", "kafka", "lb", "publisher"];

    public static TheoryData<string> YamlFiles() => new(DeploymentFiles.YamlFiles().Select(f => Path.GetRelativePath(DeploymentFiles.Root, f)));

    [Theory]
    [MemberData(nameof(YamlFiles))]
    public void EveryYamlFile_Parses(string file)
    {
        var yaml = new YamlStream();
        using var reader = new StringReader(File.ReadAllText(Path.Combine(DeploymentFiles.Root, file)));
        yaml.Load(reader);
        Assert.NotEmpty(yaml.Documents);
        Assert.IsType<YamlMappingNode>(yaml.Documents[0].RootNode);
    }

    [Fact]
    public void Compose_EveryProfile_IsAcceptedByTheComposeClient_WhereOneWorksOffline()
    {
        var client = DeploymentFiles.ComposeClient();
        if (client is null)
        {
            // Parsed as YAML above, and checked field by field below; a client adds the schema.
            return;
        }

        foreach (var profile in Profiles)
        {
            var (exit, output) = DeploymentFiles.Run(client[0], [.. client[1..], "-f", "docker-compose.yml", "--profile", profile, "config", "--quiet"]);
            Assert.True(exit == 0, $"{string.Join(' ', client)} config --profile {profile}: {output}");
        }
    }

    [Fact]
    public async Task Compose_EachEdgeService_MountsAConfigOfTheRepository_ThatBuildsWithItsEnvironment_OnThePortsItPublishes()
    {
        var compose = DeploymentFiles.Load("docker-compose.yml");
        var services = compose.Map("services");
        var edges = services.Where(s => s.Value.List("command").Contains("--config")).ToList();
        Assert.Equal(["edge", "edge-a", "edge-b", "edge-kafka", "edge-rabbitmq"], edges.Select(s => (string)s.Key).Order());
        var subnet = (string)((Dictionary<object, object>)compose.Map("networks").Map("default").Map("ipam").List("config")[0])["subnet"];

        foreach (var (name, service) in edges)
        {
            var command = service.List("command").Cast<string>().ToList();
            var configFile = command[command.IndexOf("--config") + 1];
            Assert.StartsWith("config/", configFile, StringComparison.Ordinal);
            Assert.Contains($"./{configFile}:/app/{configFile}:ro", service.List("volumes").Cast<string>());

            var environment = service.Map("environment").ToDictionary(e => (string)e.Key, e => (string)e.Value);
            var options = BuildEdge(configFile, environment, out var fileConfiguration);
            foreach (var key in environment.Keys.Select(k => k.Replace("__", ":", StringComparison.Ordinal)).Where(k => !k.StartsWith("Edge:Urls", StringComparison.Ordinal) && !k.StartsWith("Edge:ForwardedHeaders", StringComparison.Ordinal)))
            {
                // An override must replace a value of the file, never add a second destination or a key the edge ignores.
                Assert.True(fileConfiguration[key] is not null, $"{name}: {key} is not in {configFile}");
            }

            var port = new Uri(options.Urls).Port;
            Assert.Equal(8080, port);
            foreach (var mapping in service.List("ports").Cast<string>())
            {
                Assert.Equal($"127.0.0.1:{port}:{port}", mapping);
            }

            if (environment.TryGetValue("Edge__ForwardedHeaders__KnownNetworks__0", out var trusted))
            {
                Assert.Equal(subnet, trusted);
                Assert.True(options.ForwardedHeaders.Enabled, $"{name} trusts a network but does not read forwarded headers");
            }
        }

        var nginx = await File.ReadAllTextAsync(Path.Combine(DeploymentFiles.Root, "deploy/nginx/edge-lb.conf"));
        Assert.Contains("server edge-a:8080", nginx, StringComparison.Ordinal);
        Assert.Contains("server edge-b:8080", nginx, StringComparison.Ordinal);
        Assert.Contains("proxy_buffering off;", nginx, StringComparison.Ordinal);
        Assert.Contains("listen 8080;", nginx, StringComparison.Ordinal);
        Assert.Equal("./deploy/nginx/edge-lb.conf:/etc/nginx/conf.d/default.conf:ro", services.Map("lb").List("volumes")[0]);
        Assert.Contains("./deploy/rabbitmq/enabled_plugins:/etc/rabbitmq/enabled_plugins:ro", services.Map("rabbitmq").List("volumes").Cast<string>());
        Assert.Contains("rabbitmq_stream", await File.ReadAllTextAsync(Path.Combine(DeploymentFiles.Root, "deploy/rabbitmq/enabled_plugins")), StringComparison.Ordinal);
        Assert.Equal("broker,controller", services.Map("kafka").Map("environment")["KAFKA_PROCESS_ROLES"]);
        var upstream = services.Map("upstream").List("command").Cast<string>().ToList();
        Assert.Equal("http://upstream:" + upstream[upstream.IndexOf("--port") + 1], services.Map("edge").Map("environment")["ReverseProxy__Clusters__app__Destinations__app1__Address"]);
    }

    [Fact]
    public async Task Compose_TheEmbeddedEdge_StartsAsComposeRunsIt_AndAnswersHealthReadyAndTheDemo()
    {
        var service = DeploymentFiles.Load("docker-compose.yml").Map("services").Map("edge");
        var settings = service.Map("environment").ToDictionary(e => ((string)e.Key).Replace("__", ":", StringComparison.Ordinal), e => (string?)e.Value);
        settings["Edge:Urls"] = "http://127.0.0.1:0";
        await using var edge = await EdgeTestHost.StartAsync(settings, configFile: Path.Combine(DeploymentFiles.Root, "config/edge.json"));
        using var http = edge.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync(HealthPath(Dockerfile()))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/_edge/ready")).StatusCode);
        Assert.Contains("Edge demo", await http.GetStringAsync("/"), StringComparison.Ordinal);
    }

    [Fact]
    public void Dockerfile_IsMultiStage_RunsAsTheImagesNonRootUser_AndChecksTheHealthPathOnTheListenPort()
    {
        var dockerfile = Dockerfile();
        var stages = StageRegex().Matches(dockerfile).Select(m => m.Groups[2].Value).ToList();
        Assert.Equal(["demo-scripts", "build", "publisher", "edge"], stages);
        Assert.Contains("FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build", dockerfile, StringComparison.Ordinal);
        Assert.Contains("FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS edge", dockerfile, StringComparison.Ordinal);

        var edgeStage = dockerfile[dockerfile.IndexOf("AS edge", StringComparison.Ordinal)..];
        Assert.Contains("USER $APP_UID", edgeStage, StringComparison.Ordinal);
        Assert.Contains("EXPOSE 8080", edgeStage, StringComparison.Ordinal);
        Assert.Contains("Edge__Urls=http://0.0.0.0:8080", edgeStage, StringComparison.Ordinal);
        Assert.Contains("/dev/tcp/127.0.0.1/8080", edgeStage, StringComparison.Ordinal);
        Assert.Equal(new EdgeOptions().Health.LivePath, HealthPath(dockerfile));
        Assert.Equal(BuildEdge("config/edge.json", new Dictionary<string, string>(), out _).Health.LivePath, HealthPath(dockerfile));
        Assert.Contains("USER $APP_UID", dockerfile[dockerfile.IndexOf("AS publisher", StringComparison.Ordinal)..dockerfile.IndexOf("AS edge", StringComparison.Ordinal)], StringComparison.Ordinal);

        foreach (Match copy in CopyRegex().Matches(dockerfile))
        {
            foreach (var source in copy.Groups[1].Value.Split(' ', StringSplitOptions.RemoveEmptyEntries)[..^1])
            {
                Assert.True(File.Exists(Path.Combine(DeploymentFiles.Root, source)) || Directory.Exists(Path.Combine(DeploymentFiles.Root, source)), $"the Dockerfile copies {source}, which does not exist");
            }
        }
    }

    [Fact]
    public void Kubernetes_ConfigMapIsTheRepositorysFile_ProbesPortsAndGracePeriodAgreeWithIt_AndNeverAllStreamsAtOnce()
    {
        var configMap = DeploymentFiles.Load("deploy/k8s/configmap.yaml");
        var deployment = DeploymentFiles.Load("deploy/k8s/deployment.yaml");
        var pdb = DeploymentFiles.Load("deploy/k8s/pdb.yaml");
        var service = DeploymentFiles.Load("deploy/k8s/service.yaml");
        var kustomization = DeploymentFiles.Load("deploy/k8s/kustomization.yaml");
        var pod = deployment.Map("spec").Map("template").Map("spec");
        var container = (Dictionary<object, object>)pod.List("containers").Single();

        var args = container.List("args").Cast<string>().ToList();
        var configFile = args[args.IndexOf("--config") + 1];
        var key = Path.GetFileName(configFile);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(File.ReadAllText(Path.Combine(DeploymentFiles.Root, configFile))), JsonNode.Parse(configMap.Map("data").Text(key))), $"deploy/k8s/configmap.yaml's {key} differs from {configFile}");
        var mount = container.List("volumeMounts").Cast<Dictionary<object, object>>().Single(m => (string)m["name"] == "config");
        Assert.Equal(("/app/" + configFile, key), ((string)mount["mountPath"], (string)mount["subPath"]));

        // The values from the Secret are those of secret.example.yaml, as a cluster would inject them.
        var secret = DeploymentFiles.Load("deploy/k8s/secret.example.yaml");
        var environment = container.List("env").Cast<Dictionary<object, object>>().ToDictionary(
            e => (string)e["name"],
            e => e.TryGetValue("value", out var v) ? (string)v : secret.Map("stringData").Text(e.Map("valueFrom").Map("secretKeyRef").Text("key")));
        var options = BuildEdge(configFile, environment, out _);
        var port = new Uri(options.Urls).Port;
        var containerPort = (Dictionary<object, object>)container.List("ports").Single();
        Assert.Equal(port.ToString(System.Globalization.CultureInfo.InvariantCulture), containerPort["containerPort"]);
        Assert.Equal((string)containerPort["name"], service.Map("spec").List("ports").Cast<Dictionary<object, object>>().Single()["targetPort"]);
        Assert.Equal(options.Health.ReadyPath, container.Map("readinessProbe").Map("httpGet").Text("path"));
        Assert.Equal(options.Health.LivePath, container.Map("livenessProbe").Map("httpGet").Text("path"));
        Assert.Equal(options.Health.LivePath, container.Map("startupProbe").Map("httpGet").Text("path"));

        var preStop = container.Map("lifecycle").Map("preStop").Map("exec").List("command").Cast<string>().ToList();
        Assert.Equal("sleep", preStop[0]);
        var grace = TimeSpan.FromSeconds(int.Parse(pod.Text("terminationGracePeriodSeconds"), System.Globalization.CultureInfo.InvariantCulture));
        var stopping = TimeSpan.FromSeconds(int.Parse(preStop[1], System.Globalization.CultureInfo.InvariantCulture)) + options.Shutdown.DrainTimeout;
        Assert.True(grace > stopping, $"terminationGracePeriodSeconds ({grace.TotalSeconds} s) must be longer than preStop + Edge:Shutdown:DrainTimeout ({stopping.TotalSeconds} s)");

        var replicas = int.Parse(deployment.Map("spec").Text("replicas"), System.Globalization.CultureInfo.InvariantCulture);
        var rolling = deployment.Map("spec").Map("strategy").Map("rollingUpdate");
        Assert.True(replicas >= 2);
        Assert.True(int.Parse(rolling.Text("maxUnavailable"), System.Globalization.CultureInfo.InvariantCulture) < replicas, "a rolling update must keep a pod serving streams");
        Assert.True(int.Parse(pdb.Map("spec").Text("maxUnavailable"), System.Globalization.CultureInfo.InvariantCulture) < replicas, "the disruption budget must keep a pod serving streams");
        var labels = deployment.Map("spec").Map("template").Map("metadata").Map("labels");
        Assert.All(pdb.Map("spec").Map("selector").Map("matchLabels"), l => Assert.Equal(labels[l.Key], l.Value));
        Assert.All(service.Map("spec").Map("selector"), l => Assert.Equal(labels[l.Key], l.Value));
        Assert.Equal("true", pod.Map("securityContext").Text("runAsNonRoot"));

        foreach (var reference in container.List("env").Cast<Dictionary<object, object>>().Where(e => e.ContainsKey("valueFrom")))
        {
            var secretRef = reference.Map("valueFrom").Map("secretKeyRef");
            Assert.Equal(secret.Map("metadata").Text("name"), secretRef.Text("name"));
            Assert.True(secret.Map("stringData").Has(secretRef.Text("key")), $"the Secret has no {secretRef.Text("key")}");
        }

        Assert.Equal(["configmap.yaml", "deployment.yaml", "pdb.yaml", "service.yaml"], kustomization.List("resources").Cast<string>().Order());
    }

    /// <summary>Builds the edge as the container runs it (the file, then its environment), which validates every option, and returns them.</summary>
    private static EdgeOptions BuildEdge(string configFile, IDictionary<string, string> environment, out IConfiguration fileConfiguration)
    {
        var path = Path.Combine(DeploymentFiles.Root, configFile);
        fileConfiguration = new ConfigurationBuilder().AddJsonFile(path).Build();
        var settings = environment.ToDictionary(e => e.Key.Replace("__", ":", StringComparison.Ordinal), e => (string?)e.Value);
        var app = EdgeApp.Build(["--config", path], c => c.AddInMemoryCollection(settings));
        try
        {
            return app.Services.GetRequiredService<IOptions<EdgeOptions>>().Value;
        }
        finally
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static string Dockerfile() => File.ReadAllText(Path.Combine(DeploymentFiles.Root, "Dockerfile"));

    private static string HealthPath(string dockerfile) => HealthRegex().Match(dockerfile[dockerfile.IndexOf("HEALTHCHECK", StringComparison.Ordinal)..]).Groups[1].Value;

    [GeneratedRegex(@"^FROM (\S+) AS (\S+)$", RegexOptions.Multiline)]
    private static partial Regex StageRegex();

    [GeneratedRegex(@"^COPY (?!--from)(.+)$", RegexOptions.Multiline)]
    private static partial Regex CopyRegex();

    [GeneratedRegex(@"GET (/\S+) HTTP/1\.1")]
    private static partial Regex HealthRegex();
}
