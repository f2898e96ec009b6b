using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace Edge.Brokers.Kafka.Tests.TestSupport;

/// <summary>
/// librdkafka's built-in mock Kafka cluster, reached by P/Invoke into the very library
/// Confluent.Kafka loaded (on Debian that is the bundled centos8 build, found through
/// /proc/self/maps). Its brokers listen on 127.0.0.1 and speak the real Kafka protocol.
/// </summary>
internal sealed partial class LibRdKafkaMock : IDisposable
{
    private const string Library = "edge-librdkafka-mock";
    private static readonly Lazy<string> LoadedLibrary = new(FindLoadedLibrary);

    private readonly IntPtr _handle;
    private readonly IntPtr _cluster;
    private bool _disposed;

    public LibRdKafkaMock(int brokers)
    {
        _ = LoadedLibrary.Value;
        var conf = rd_kafka_conf_new();
        var error = Marshal.AllocHGlobal(512);
        try
        {
            rd_kafka_conf_set(conf, "log_level", "0", error, 512);
            _handle = rd_kafka_new(0, conf, error, 512);
            if (_handle == IntPtr.Zero)
            {
                throw new InvalidOperationException("rd_kafka_new failed: " + Marshal.PtrToStringUTF8(error));
            }
        }
        finally
        {
            Marshal.FreeHGlobal(error);
        }

        _cluster = rd_kafka_mock_cluster_new(_handle, brokers);
        if (_cluster == IntPtr.Zero)
        {
            rd_kafka_destroy(_handle);
            throw new InvalidOperationException("rd_kafka_mock_cluster_new failed.");
        }

        // A real cluster always has a controller; admin requests (DescribeTopics) wait for one.
        Check(rd_kafka_mock_set_controller_id(_cluster, 1), "rd_kafka_mock_set_controller_id");
        BrokerCount = brokers;
        BootstrapServers = Marshal.PtrToStringUTF8(rd_kafka_mock_cluster_bootstraps(_cluster))!;
    }

    public string BootstrapServers { get; }

    public int BrokerCount { get; }

    /// <summary>Creates a topic; false when it already exists.</summary>
    public bool CreateTopic(string topic, int partitions)
    {
        var code = rd_kafka_mock_topic_create(_cluster, topic, partitions, 1);
        return code switch
        {
            0 => true,
            36 => false, // TOPIC_ALREADY_EXISTS
            _ => throw new InvalidOperationException($"rd_kafka_mock_topic_create({topic}) failed with {code}."),
        };
    }

    public void DeleteTopic(string topic)
    {
        var code = rd_kafka_mock_topic_delete(_cluster, topic);
        if (code != 0)
        {
            throw new InvalidOperationException($"rd_kafka_mock_topic_delete({topic}) failed with {code}.");
        }
    }

    public void SetAllBrokersDown()
    {
        for (var id = 1; id <= BrokerCount; id++)
        {
            Check(rd_kafka_mock_broker_set_down(_cluster, id), "rd_kafka_mock_broker_set_down");
        }
    }

    public void SetAllBrokersUp()
    {
        for (var id = 1; id <= BrokerCount; id++)
        {
            Check(rd_kafka_mock_broker_set_up(_cluster, id), "rd_kafka_mock_broker_set_up");
        }
    }

    /// <summary>Makes the cluster answer the next <paramref name="count"/> requests of one API with <paramref name="error"/>.</summary>
    public void PushRequestErrors(short apiKey, int error, int count)
    {
        var errors = new int[count];
        Array.Fill(errors, error);
        rd_kafka_mock_push_request_errors_array(_cluster, apiKey, (nuint)count, errors);
    }

    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        rd_kafka_mock_cluster_destroy(_cluster);
        rd_kafka_destroy(_handle);
    }

    private static void Check(int code, string function)
    {
        if (code != 0)
        {
            throw new InvalidOperationException($"{function} failed with {code}.");
        }
    }

    private static string FindLoadedLibrary()
    {
        // Make Confluent.Kafka load its native library (with its own fallbacks), then use that file.
        _ = Confluent.Kafka.Library.Version;
        string? path = null;
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            var slash = line.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0 && line.AsSpan(slash).Contains("librdkafka", StringComparison.Ordinal))
            {
                path = line[slash..].Trim();
                break;
            }
        }

        if (path is null)
        {
            throw new InvalidOperationException("Confluent.Kafka's native librdkafka is not mapped into this process.");
        }

        NativeLibrary.SetDllImportResolver(typeof(LibRdKafkaMock).Assembly, (name, _, _) =>
            name == Library ? NativeLibrary.Load(path) : IntPtr.Zero);
        return path;
    }

    [LibraryImport(Library)]
    private static partial IntPtr rd_kafka_conf_new();

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_conf_set(IntPtr conf, string name, string value, IntPtr errstr, nuint errstrSize);

    [LibraryImport(Library)]
    private static partial IntPtr rd_kafka_new(int type, IntPtr conf, IntPtr errstr, nuint errstrSize);

    [LibraryImport(Library)]
    private static partial void rd_kafka_destroy(IntPtr rk);

    [LibraryImport(Library)]
    private static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokers);

    [LibraryImport(Library)]
    private static partial void rd_kafka_mock_cluster_destroy(IntPtr cluster);

    [LibraryImport(Library)]
    private static partial IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr cluster);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_topic_create(IntPtr cluster, string topic, int partitions, int replicationFactor);

    [LibraryImport(Library, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int rd_kafka_mock_topic_delete(IntPtr cluster, string topic);

    [LibraryImport(Library)]
    private static partial int rd_kafka_mock_set_controller_id(IntPtr cluster, int brokerId);

    [LibraryImport(Library)]
    private static partial int rd_kafka_mock_broker_set_down(IntPtr cluster, int brokerId);

    [LibraryImport(Library)]
    private static partial int rd_kafka_mock_broker_set_up(IntPtr cluster, int brokerId);

    [LibraryImport(Library)]
    private static partial void rd_kafka_mock_push_request_errors_array(IntPtr cluster, short apiKey, nuint count, int[] errors);
}
