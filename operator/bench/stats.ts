/** Benchmark statistics: the shared helpers of @wacloud/testenv. */
export { fmt, median, percentile, round, table } from '@wacloud/testenv';
