/**
 * Kubernetes Resources: nodes, pods and containers of the selected clusters — CPU, memory,
 * filesystem and network from the agents' kubelet stats (k8s_*, container_*), and workload state
 * and restarts from kube-state-metrics (kube_*).
 */
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard'
import {ANY_IS_BAD, finish, increase, m, mustBeAtLeast, newDashboard, rate, row, statPanel, tablePanel, timeseriesPanel, units, warnAt} from './common.js'

const NODE = 'cluster_id, k8s_node_name'
const NODE_LEGEND = '{{cluster_id}} {{k8s_node_name}}'
const POD = 'cluster_id, k8s_namespace_name, k8s_pod_name'
const POD_LEGEND = '{{cluster_id}} {{k8s_namespace_name}}/{{k8s_pod_name}}'
const CONTAINER = 'cluster_id, k8s_namespace_name, k8s_pod_name, k8s_container_name'
const CONTAINER_LEGEND = '{{cluster_id}} {{k8s_pod_name}}/{{k8s_container_name}}'

/** kube-state-metrics' allocatable `resource` per node, under the kubelet stats' node label. */
const allocatable = (resource: string): string => `label_replace(max by (cluster_id, node) (${m('kube_node_status_allocatable', `resource="${resource}"`)}), "k8s_node_name", "$1", "node", "(.+)")`

/** Deployments, StatefulSets and DaemonSets under one label set (cluster_id, namespace, kind, workload). */
const WORKLOADS = [
  ['Deployment', 'deployment', 'kube_deployment_spec_replicas', 'kube_deployment_status_replicas_available'],
  ['StatefulSet', 'statefulset', 'kube_statefulset_replicas', 'kube_statefulset_status_replicas_ready'],
  ['DaemonSet', 'daemonset', 'kube_daemonset_status_desired_number_scheduled', 'kube_daemonset_status_number_available'],
] as const

function workloads(what: 'wanted' | 'available'): string {
  return WORKLOADS.map(
    ([kind, label, wanted, available]) =>
      `max by (cluster_id, namespace, kind, workload) (label_replace(label_replace(${m(what === 'wanted' ? wanted : available)}, "workload", "$1", "${label}", "(.+)"), "kind", "${kind}", "", ""))`,
  ).join(' or ')
}

/** The 15 largest series of an expression at each step (pods and containers can be many). */
const top = (expr: string): string => `topk(15, ${expr})`

export function k8sResources(): dashboard.Dashboard {
  const builder = newDashboard({
    uid: 'k8s-resources',
    title: 'Kubernetes Resources',
    description: 'Nodes, pods and containers of the selected clusters: CPU, memory, filesystem, network, workload status and restarts.',
    tags: ['kubernetes'],
  })

  builder
    .withRow(row('Clusters'))
    .withPanel(
      statPanel({
        title: 'Nodes',
        description: 'Nodes known to kube-state-metrics.',
        unit: units.Short,
        queries: [{expr: `count(${m('kube_node_info')})`}],
        thresholds: mustBeAtLeast(1),
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Nodes not ready',
        description: 'Nodes whose Ready condition is not true.',
        unit: units.Short,
        queries: [{expr: `sum(${m('kube_node_status_condition', 'condition="Ready"', 'status!="true"')})`}],
        thresholds: ANY_IS_BAD(),
        background: true,
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Pods running',
        description: 'Pods in phase Running.',
        unit: units.Short,
        queries: [{expr: `sum(${m('kube_pod_status_phase', 'phase="Running"')})`}],
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Pods pending or failed',
        description: 'Pods in phase Pending, Failed or Unknown.',
        unit: units.Short,
        queries: [{expr: `sum(${m('kube_pod_status_phase', 'phase=~"Pending|Failed|Unknown"')})`}],
        thresholds: ANY_IS_BAD(),
        background: true,
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'CPU used of allocatable',
        description: 'CPU used by all nodes (kubelet stats) as a share of their allocatable CPU.',
        unit: units.PercentUnit,
        queries: [{expr: `sum(${m('k8s_node_cpu_usage')}) / sum(${m('kube_node_status_allocatable', 'resource="cpu"')})`}],
        thresholds: warnAt(0.7, 0.9),
        sparkline: true,
        w: 4,
        h: 4,
      }),
    )
    .withPanel(
      statPanel({
        title: 'Memory used of allocatable',
        description: 'Working set of all nodes as a share of their allocatable memory.',
        unit: units.PercentUnit,
        queries: [{expr: `sum(${m('k8s_node_memory_working_set_bytes')}) / sum(${m('kube_node_status_allocatable', 'resource="memory"')})`}],
        thresholds: warnAt(0.7, 0.9),
        sparkline: true,
        w: 4,
        h: 4,
      }),
    )

  builder
    .withRow(row('Nodes'))
    .withPanel(
      timeseriesPanel({
        title: 'Node CPU',
        description: 'CPU used by each node, in cores (k8s_node_cpu_usage).',
        unit: units.Short,
        axisLabel: 'cores',
        queries: [{expr: `sum by (${NODE}) (${m('k8s_node_cpu_usage')})`, legend: NODE_LEGEND}],
        min: 0,
        calcs: ['mean', 'max'],
        w: 12,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Node CPU of allocatable',
        description: 'CPU used by each node as a share of its allocatable CPU (kube-state-metrics).',
        unit: units.PercentUnit,
        queries: [{expr: `sum by (${NODE}) (${m('k8s_node_cpu_usage')}) / on (${NODE}) ${allocatable('cpu')}`, legend: NODE_LEGEND}],
        thresholds: warnAt(0.7, 0.9),
        showThresholds: true,
        min: 0,
        w: 12,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Node memory (working set)',
        description: 'Memory working set of each node (k8s_node_memory_working_set_bytes).',
        unit: units.BytesIEC,
        queries: [{expr: `sum by (${NODE}) (${m('k8s_node_memory_working_set_bytes')})`, legend: NODE_LEGEND}],
        min: 0,
        calcs: ['mean', 'max'],
        w: 12,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Node memory of allocatable',
        description: 'Working set of each node as a share of its allocatable memory.',
        unit: units.PercentUnit,
        queries: [{expr: `sum by (${NODE}) (${m('k8s_node_memory_working_set_bytes')}) / on (${NODE}) ${allocatable('memory')}`, legend: NODE_LEGEND}],
        thresholds: warnAt(0.8, 0.95),
        showThresholds: true,
        min: 0,
        w: 12,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Node filesystem used',
        description: 'Share of each node filesystem in use (usage / capacity).',
        unit: units.PercentUnit,
        queries: [{expr: `sum by (${NODE}) (${m('k8s_node_filesystem_usage_bytes')}) / sum by (${NODE}) (${m('k8s_node_filesystem_capacity_bytes')})`, legend: NODE_LEGEND}],
        thresholds: warnAt(0.8, 0.9),
        showThresholds: true,
        min: 0,
        max: 1,
        w: 12,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Node network',
        description: 'Bytes per second received and sent by each node (all interfaces).',
        unit: units.BytesPerSecondIEC,
        queries: [{expr: `sum by (${NODE}, direction) (${rate('k8s_node_network_io_bytes_total')})`, legend: `${NODE_LEGEND} {{direction}}`}],
        min: 0,
        w: 12,
        h: 8,
      }),
    )

  builder
    .withRow(row('Pods'))
    .withPanel(
      timeseriesPanel({
        title: 'Pod CPU (top 15)',
        description: 'CPU used by the 15 busiest pods, in cores.',
        unit: units.Short,
        axisLabel: 'cores',
        queries: [{expr: top(`sum by (${POD}) (${m('k8s_pod_cpu_usage')})`), legend: POD_LEGEND}],
        min: 0,
        w: 12,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Pod memory (top 15)',
        description: 'Working set of the 15 largest pods.',
        unit: units.BytesIEC,
        queries: [{expr: top(`sum by (${POD}) (${m('k8s_pod_memory_working_set_bytes')})`), legend: POD_LEGEND}],
        min: 0,
        w: 12,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Pod network (top 15)',
        description: 'Bytes per second received plus sent by the 15 busiest pods.',
        unit: units.BytesPerSecondIEC,
        queries: [{expr: top(`sum by (${POD}) (${rate('k8s_pod_network_io_bytes_total')})`), legend: POD_LEGEND}],
        min: 0,
        w: 12,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Pod filesystem used (top 15)',
        description: 'Bytes of ephemeral storage used by the 15 largest pods.',
        unit: units.BytesIEC,
        queries: [{expr: top(`sum by (${POD}) (${m('k8s_pod_filesystem_usage_bytes')})`), legend: POD_LEGEND}],
        min: 0,
        w: 12,
        h: 8,
      }),
    )

  builder
    .withRow(row('Containers'))
    .withPanel(
      timeseriesPanel({
        title: 'Container CPU (top 15)',
        description: 'CPU used by the 15 busiest containers, in cores.',
        unit: units.Short,
        axisLabel: 'cores',
        queries: [{expr: top(`sum by (${CONTAINER}) (${m('container_cpu_usage')})`), legend: CONTAINER_LEGEND}],
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Container memory (top 15)',
        description: 'Working set of the 15 largest containers.',
        unit: units.BytesIEC,
        queries: [{expr: top(`sum by (${CONTAINER}) (${m('container_memory_working_set_bytes')})`), legend: CONTAINER_LEGEND}],
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Container memory of limit (top 15)',
        description: 'Working set as a share of the container memory limit, for the 15 containers closest to theirs (containers without a limit are left out).',
        unit: units.PercentUnit,
        queries: [
          {
            expr: top(
              `sum by (${CONTAINER}) (${m('container_memory_working_set_bytes')}) / on (${CONTAINER}) label_replace(label_replace(label_replace(max by (cluster_id, namespace, pod, container) (${m('kube_pod_container_resource_limits', 'resource="memory"')}), "k8s_namespace_name", "$1", "namespace", "(.+)"), "k8s_pod_name", "$1", "pod", "(.+)"), "k8s_container_name", "$1", "container", "(.+)")`,
            ),
            legend: CONTAINER_LEGEND,
          },
        ],
        thresholds: warnAt(0.8, 0.95),
        showThresholds: true,
        min: 0,
        w: 8,
        h: 8,
      }),
    )

  builder
    .withRow(row('Workloads'))
    .withPanel(
      tablePanel({
        title: 'Workload status',
        description: 'Deployments, StatefulSets and DaemonSets: replicas wanted and available, per cluster. A row where they differ is a workload short of pods.',
        unit: units.Short,
        queries: [{expr: workloads('wanted')}, {expr: workloads('available')}],
        merge: true,
        rename: {cluster_id: 'cluster', 'Value #A': 'wanted', 'Value #B': 'available'},
        w: 24,
        h: 10,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Pods by phase',
        description: 'Pods per cluster and phase.',
        unit: units.Short,
        queries: [{expr: `sum by (cluster_id, phase) (${m('kube_pod_status_phase')}) > 0`, legend: '{{cluster_id}} {{phase}}'}],
        stack: true,
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Deployment replicas unavailable',
        description: 'Replicas each Deployment wants but does not have available (shown while above zero).',
        unit: units.Short,
        queries: [{expr: `sum by (cluster_id, namespace, deployment) (${m('kube_deployment_status_replicas_unavailable')})`, legend: '{{cluster_id}} {{namespace}}/{{deployment}}'}],
        thresholds: ANY_IS_BAD(),
        showThresholds: true,
        min: 0,
        w: 8,
        h: 8,
      }),
    )
    .withPanel(
      timeseriesPanel({
        title: 'Container restarts',
        description: 'Container restarts in each interval, per cluster and pod (kube-state-metrics).',
        unit: units.Short,
        queries: [{expr: `sum by (cluster_id, namespace, pod) (${increase('kube_pod_container_status_restarts_total')})`, legend: '{{cluster_id}} {{namespace}}/{{pod}}'}],
        thresholds: ANY_IS_BAD(),
        bars: true,
        min: 0,
        w: 8,
        h: 8,
      }),
    )

  return finish(builder)
}
