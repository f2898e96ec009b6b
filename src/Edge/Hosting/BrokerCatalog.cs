using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Edge.Brokers.Registration;

namespace Edge.Hosting;

/// <summary>
/// The broker plugins this process can use: every <c>Edge.Brokers*.dll</c> beside the host (and
/// every loaded assembly) that declares <see cref="EdgeBrokerAttribute"/>. Adding a broker means
/// shipping its assembly; the host itself does not change.
/// </summary>
internal sealed class BrokerCatalog
{
    private readonly Dictionary<string, Type> _registrations;

    private BrokerCatalog(Dictionary<string, Type> registrations)
    {
        _registrations = registrations;
    }

    public IEnumerable<string> Types => _registrations.Keys.Order(StringComparer.OrdinalIgnoreCase);

    public static BrokerCatalog Discover()
    {
        var assemblies = new HashSet<Assembly>(AppDomain.CurrentDomain.GetAssemblies());
        foreach (var path in Directory.EnumerateFiles(AppContext.BaseDirectory, "Edge.Brokers*.dll"))
        {
            try
            {
                assemblies.Add(Assembly.Load(AssemblyName.GetAssemblyName(path)));
            }
            catch (Exception ex) when (ex is BadImageFormatException or FileLoadException or FileNotFoundException)
            {
                // Not a loadable plugin (a satellite or a stale file); it simply offers no broker.
            }
        }

        var registrations = new Dictionary<string, Type>(StringComparer.OrdinalIgnoreCase);
        foreach (var assembly in assemblies)
        {
            if (assembly.IsDynamic)
            {
                continue;
            }

            foreach (var attribute in assembly.GetCustomAttributes<EdgeBrokerAttribute>())
            {
                if (typeof(IEdgeBrokerRegistration).IsAssignableFrom(attribute.Registration))
                {
                    registrations.TryAdd(attribute.Type, attribute.Registration);
                }
            }
        }

        return new BrokerCatalog(registrations);
    }

    public bool TryFind(string? type, [NotNullWhen(true)] out IEdgeBrokerRegistration? registration)
    {
        registration = null;
        if (type is null || !_registrations.TryGetValue(type, out var registrationType))
        {
            return false;
        }

        registration = (IEdgeBrokerRegistration)Activator.CreateInstance(registrationType)!;
        return true;
    }
}
