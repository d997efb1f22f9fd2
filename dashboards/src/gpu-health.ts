/**
 * GPU Health: the DCGM deep dive — utilisation, memory, temperatures (GPU and memory), power,
 * SM and memory clocks, PCIe replays and throughput, XID errors and energy, per GPU of every
 * selected cluster.
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import {ANY_IS_BAD, finish, m, newDashboard, rate, row, statPanel, tablePanel, thresholds, timeseriesPanel, units, warnAt} from './common.js'

/** One series per GPU: cluster, node and GPU index. */
const PER_GPU = 'cluster_id, Hostname, gpu'
const GPU_LEGEND = '{{cluster_id}} {{Hostname}} GPU {{gpu}}'

const perGpu = (metric: string): string => `max by (${PER_GPU}) (${m(metric)})`

interface GpuSeries {
  title: string
  description: string
  unit: string
  /** One query, or several as [expression, legend suffix]. */
  expr: string | Array<[string, string]>
  w?: number
  thresholds?: dashboard.ThresholdsConfigBuilder
  max?: number
}

const gpuTimeseries = (s: GpuSeries) =>
  timeseriesPanel({
    title: s.title,
    description: s.description,
    unit: s.unit,
    queries: typeof s.expr === 'string' ? [{expr: s.expr, legend: GPU_LEGEND}] : s.expr.map(([expr, suffix]) => ({expr, legend: `${GPU_LEGEND} ${suffix}`})),
    ...(s.thresholds ? {thresholds: s.thresholds, showThresholds: true} : {}),
    ...(s.max !== undefined ? {max: s.max} : {}),
    min: 0,
    calcs: ['mean', 'max', 'lastNotNull'],
    w: s.w ?? 12,
    h: 8,
  })

export function gpuHealth(): dashboard.Dashboard {
  const builder = newDashboard({
    uid: 'gpu-health',
    title: 'GPU Health',
    description: 'DCGM metrics of every GPU in the selected clusters: utilisation, memory, temperatures, power, clocks, PCIe, XID errors and energy.',
    tags: ['gpu', 'dcgm'],
  })

  builder
    .withRow(row('Overview'))
    .withPanel(
      statPanel({
        title: 'GPUs',
        description: 'GPUs reporting through dcgm-exporter.',
        unit: units.Short,
        queries: [{expr: `count(${m('DCGM_FI_DEV_GPU_UTIL')})`}],
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Mean utilisation',
        description: 'Mean GPU utilisation over the selected GPUs.',
        unit: units.Percent,
        queries: [{expr: `avg(${m('DCGM_FI_DEV_GPU_UTIL')})`}],
        thresholds: warnAt(80, 95),
        sparkline: true,
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Hottest GPU',
        description: 'The highest GPU temperature.',
        unit: units.Celsius,
        queries: [{expr: `max(${m('DCGM_FI_DEV_GPU_TEMP')})`}],
        thresholds: warnAt(75, 85),
        sparkline: true,
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Total power',
        description: 'Power drawn by all selected GPUs.',
        unit: units.Watt,
        queries: [{expr: `sum(${m('DCGM_FI_DEV_POWER_USAGE')})`}],
        sparkline: true,
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'GPUs with an XID error',
        description: 'GPUs whose last XID error code is not 0 (DCGM_FI_DEV_XID_ERRORS). Any XID is worth a look at the node.',
        unit: units.Short,
        queries: [{expr: `count(${m('DCGM_FI_DEV_XID_ERRORS')} > 0) or vector(0)`}],
        thresholds: ANY_IS_BAD(),
        background: true,
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'PCIe replays/s',
        description: 'PCIe replay rate over all selected GPUs: above zero means a flaky link or riser.',
        unit: units.CountsPerSecond,
        queries: [{expr: `sum(${rate('DCGM_FI_DEV_PCIE_REPLAY_COUNTER_total')})`}],
        thresholds: thresholds('green', [1e-9, 'red']),
        w: 4,
        h: 4,
      }),
    )

  builder
    .withRow(row('Utilisation'))
    .withPanel(
      gpuTimeseries({
        title: 'GPU utilisation',
        description: 'Share of time a kernel was running (DCGM_FI_DEV_GPU_UTIL).',
        unit: units.Percent,
        expr: perGpu('DCGM_FI_DEV_GPU_UTIL'),
        thresholds: warnAt(80, 95),
        max: 100,
      }),
    )
    .withPanel(
      gpuTimeseries({
        title: 'Memory copy utilisation',
        description: 'Share of time the memory controller was busy (DCGM_FI_DEV_MEM_COPY_UTIL).',
        unit: units.Percent,
        expr: perGpu('DCGM_FI_DEV_MEM_COPY_UTIL'),
        max: 100,
      }),
    )
    .withPanel(
      gpuTimeseries({
        title: 'Graphics engine and tensor activity',
        description: 'Ratio of time the graphics engine (DCGM_FI_PROF_GR_ENGINE_ACTIVE), the tensor pipes (DCGM_FI_PROF_PIPE_TENSOR_ACTIVE) and DRAM (DCGM_FI_PROF_DRAM_ACTIVE) were active.',
        unit: units.PercentUnit,
        expr: [
          [perGpu('DCGM_FI_PROF_GR_ENGINE_ACTIVE'), 'graphics'],
          [perGpu('DCGM_FI_PROF_PIPE_TENSOR_ACTIVE'), 'tensor'],
          [perGpu('DCGM_FI_PROF_DRAM_ACTIVE'), 'DRAM'],
        ],
        max: 1,
      }),
    )
    .withPanel(
      gpuTimeseries({
        title: 'Encoder and decoder utilisation',
        description: 'Video encoder (DCGM_FI_DEV_ENC_UTIL) and decoder (DCGM_FI_DEV_DEC_UTIL) utilisation.',
        unit: units.Percent,
        expr: [
          [perGpu('DCGM_FI_DEV_ENC_UTIL'), 'encoder'],
          [perGpu('DCGM_FI_DEV_DEC_UTIL'), 'decoder'],
        ],
        max: 100,
      }),
    )

  builder
    .withRow(row('Memory'))
    .withPanel(
      gpuTimeseries({
        title: 'Frame buffer used',
        description: 'GPU memory in use (DCGM_FI_DEV_FB_USED, MiB).',
        unit: units.Mebibytes,
        expr: perGpu('DCGM_FI_DEV_FB_USED'),
        w: 8,
      }),
    )
    .withPanel(
      gpuTimeseries({
        title: 'Frame buffer used %',
        description: 'GPU memory in use as a share of used + free (+ reserved).',
        unit: units.Percent,
        expr: `100 * ${perGpu('DCGM_FI_DEV_FB_USED')} / (${perGpu('DCGM_FI_DEV_FB_USED')} + ${perGpu('DCGM_FI_DEV_FB_FREE')} + ${perGpu('DCGM_FI_DEV_FB_RESERVED')})`,
        thresholds: warnAt(80, 95),
        max: 100,
        w: 8,
      }),
    )
    .withPanel(
      gpuTimeseries({
        title: 'Frame buffer free',
        description: 'GPU memory free (DCGM_FI_DEV_FB_FREE, MiB).',
        unit: units.Mebibytes,
        expr: perGpu('DCGM_FI_DEV_FB_FREE'),
        w: 8,
      }),
    )

  builder
    .withRow(row('Temperature, power and energy'))
    .withPanel(
      gpuTimeseries({
        title: 'GPU temperature',
        description: 'GPU die temperature (DCGM_FI_DEV_GPU_TEMP).',
        unit: units.Celsius,
        expr: perGpu('DCGM_FI_DEV_GPU_TEMP'),
        thresholds: warnAt(75, 85),
      }),
    )
    .withPanel(
      gpuTimeseries({
        title: 'Memory temperature',
        description: 'HBM/GDDR temperature (DCGM_FI_DEV_MEMORY_TEMP; 0 on boards without a memory sensor).',
        unit: units.Celsius,
        expr: perGpu('DCGM_FI_DEV_MEMORY_TEMP'),
        thresholds: warnAt(85, 95),
      }),
    )
    .withPanel(
      gpuTimeseries({
        title: 'Power',
        description: 'Power draw (DCGM_FI_DEV_POWER_USAGE).',
        unit: units.Watt,
        expr: perGpu('DCGM_FI_DEV_POWER_USAGE'),
      }),
    )
    .withPanel(
      gpuTimeseries({
        title: 'Energy use',
        description: 'Energy drawn per second from the energy counter (DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION, mJ), i.e. the mean power over each interval.',
        unit: units.Watt,
        expr: `max by (${PER_GPU}) (${rate('DCGM_FI_DEV_TOTAL_ENERGY_CONSUMPTION_total')}) / 1000`,
      }),
    )

  builder
    .withRow(row('Clocks'))
    .withPanel(
      gpuTimeseries({
        title: 'SM clock',
        description: 'Streaming multiprocessor clock (DCGM_FI_DEV_SM_CLOCK).',
        unit: units.Hertz,
        expr: `${perGpu('DCGM_FI_DEV_SM_CLOCK')} * 1000000`,
      }),
    )
    .withPanel(
      gpuTimeseries({
        title: 'Memory clock',
        description: 'Memory clock (DCGM_FI_DEV_MEM_CLOCK).',
        unit: units.Hertz,
        expr: `${perGpu('DCGM_FI_DEV_MEM_CLOCK')} * 1000000`,
      }),
    )

  builder
    .withRow(row('PCIe and errors'))
    .withPanel(
      gpuTimeseries({
        title: 'PCIe replays',
        description: 'PCIe replays per second (DCGM_FI_DEV_PCIE_REPLAY_COUNTER): retransmissions on the link.',
        unit: units.CountsPerSecond,
        expr: `max by (${PER_GPU}) (${rate('DCGM_FI_DEV_PCIE_REPLAY_COUNTER_total')})`,
        thresholds: thresholds('green', [1e-9, 'red']),
        w: 8,
      }),
    )
    .withPanel(
      gpuTimeseries({
        title: 'PCIe throughput',
        description: 'Bytes per second over PCIe, received (DCGM_FI_PROF_PCIE_RX_BYTES) and sent (DCGM_FI_PROF_PCIE_TX_BYTES).',
        unit: units.BytesPerSecondSI,
        expr: [
          [perGpu('DCGM_FI_PROF_PCIE_RX_BYTES'), 'rx'],
          [perGpu('DCGM_FI_PROF_PCIE_TX_BYTES'), 'tx'],
        ],
        w: 8,
      }),
    )
    .withPanel(
      gpuTimeseries({
        title: 'XID errors',
        description: 'The last XID error code of each GPU (DCGM_FI_DEV_XID_ERRORS); 0 is none. Look the code up in NVIDIA’s XID table.',
        unit: units.Short,
        expr: perGpu('DCGM_FI_DEV_XID_ERRORS'),
        thresholds: ANY_IS_BAD(),
        w: 8,
      }),
    )
    .withPanel(
      tablePanel({
        title: 'GPU inventory',
        description: 'Every GPU of the selected clusters: node, model, UUID, driver, the pod using it and its current utilisation.',
        unit: units.Percent,
        queries: [{expr: `max by (cluster_id, Hostname, gpu, modelName, UUID, DCGM_FI_DRIVER_VERSION, exported_pod) (${m('DCGM_FI_DEV_GPU_UTIL')})`}],
        rename: {cluster_id: 'cluster', Hostname: 'node', modelName: 'model', DCGM_FI_DRIVER_VERSION: 'driver', exported_pod: 'pod', Value: 'utilisation'},
        w: 24,
        h: 7,
      }),
    )

  return finish(builder)
}
