using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Edge.Benchmarks.FramingBenchmarks).Assembly).Run(args);
