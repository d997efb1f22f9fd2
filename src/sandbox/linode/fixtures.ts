/** What the fake's account sees of the catalogue: regions, LKE versions and tiers, Linode plans. */

export interface Region {
  id: string
  label: string
  country: string
  capabilities: string[]
  status: 'ok' | 'outage'
  resolvers: {ipv4: string; ipv6: string}
  placement_group_limits: {maximum_linodes_per_pg: number; maximum_pgs_per_customer: number | null}
  'site-type': 'core' | 'distributed'
}

const BASE = ['Linodes', 'Block Storage', 'Kubernetes', 'NodeBalancers', 'Cloud Firewall', 'Vlans', 'VPCs', 'Metadata', 'Placement Group', 'Block Storage Encryption']
const GPU = 'GPU Linodes'

function region(id: string, label: string, country: string, extra: string[] = [], resolverBase = '172.105.0'): Region {
  return {
    id,
    label,
    country,
    capabilities: [...BASE, ...extra],
    status: 'ok',
    resolvers: {ipv4: `${resolverBase}.5,${resolverBase}.6,${resolverBase}.7`, ipv6: '2600:3c00::5,2600:3c00::6,2600:3c00::7'},
    placement_group_limits: {maximum_linodes_per_pg: 5, maximum_pgs_per_customer: null},
    'site-type': 'core',
  }
}

export const REGIONS: Region[] = [
  region('us-ord', 'Chicago, IL', 'us', [GPU, 'Premium Plans'], '172.232.0'),
  region('us-east', 'Newark, NJ', 'us', [GPU], '66.228.42'),
  region('us-iad', 'Washington, DC', 'us', ['Premium Plans'], '139.144.192'),
  region('us-central', 'Dallas, TX', 'us', [], '72.14.179'),
  region('us-west', 'Fremont, CA', 'us', [], '173.230.145'),
  region('us-sea', 'Seattle, WA', 'us', [GPU, 'Premium Plans'], '172.232.160'),
  region('eu-central', 'Frankfurt, DE', 'de', [GPU], '139.162.130'),
  region('de-fra-2', 'Frankfurt 2, DE', 'de', [GPU, 'Premium Plans'], '172.236.203'),
  region('gb-lon', 'London 2, UK', 'gb', ['Premium Plans'], '172.236.0'),
  region('eu-west', 'London, UK', 'gb', [], '178.79.182'),
  region('fr-par', 'Paris, FR', 'fr', [GPU, 'Premium Plans'], '172.233.15'),
  region('ap-south', 'Singapore, SG', 'sg', [GPU], '139.162.11'),
  region('ap-west', 'Mumbai, IN', 'in', [GPU], '172.105.34'),
  region('jp-osa', 'Osaka, JP', 'jp', [GPU, 'Premium Plans'], '172.233.64'),
]

/** Newest first, as the API lists them. */
export const LKE_VERSIONS: {id: string}[] = [{id: '1.34'}, {id: '1.33'}, {id: '1.32'}]

export const LKE_TYPES = [
  {id: 'lke-sa', label: 'LKE Standard Availability', price: {hourly: 0, monthly: 0}, region_prices: [], transfer: 0},
  {
    id: 'lke-ha',
    label: 'LKE High Availability',
    price: {hourly: 0.09, monthly: 60},
    region_prices: [
      {id: 'id-cgk', hourly: 0.108, monthly: 72},
      {id: 'br-gru', hourly: 0.126, monthly: 84},
    ],
    transfer: 0,
  },
]

export interface LinodeType {
  id: string
  label: string
  class: 'nanode' | 'standard' | 'dedicated' | 'premium' | 'gpu' | 'highmem'
  vcpus: number
  memory: number
  disk: number
  gpus: number
  transfer: number
  network_out: number
  price: {hourly: number; monthly: number}
  addons: {backups: {price: {hourly: number; monthly: number}; region_prices: {id: string; hourly: number; monthly: number}[]}}
  region_prices: {id: string; hourly: number; monthly: number}[]
  successor: string | null
}

function plan(id: string, label: string, cls: LinodeType['class'], vcpus: number, memoryGb: number, diskGb: number, transferTb: number, monthly: number, gpus = 0): LinodeType {
  const hourly = Math.round((monthly / 730) * 1000) / 1000
  const backups = Math.round(monthly * 0.25 * 100) / 100
  return {
    id,
    label,
    class: cls,
    vcpus,
    memory: memoryGb * 1024,
    disk: diskGb * 1024,
    gpus,
    transfer: transferTb * 1000,
    network_out: Math.min(12_000, Math.max(1000, vcpus * 1000)),
    price: {hourly, monthly},
    addons: {backups: {price: {hourly: Math.round((backups / 730) * 10000) / 10000, monthly: backups}, region_prices: []}},
    region_prices: [
      {id: 'id-cgk', hourly: Math.round(hourly * 1.2 * 1000) / 1000, monthly: Math.round(monthly * 1.2)},
      {id: 'br-gru', hourly: Math.round(hourly * 1.4 * 1000) / 1000, monthly: Math.round(monthly * 1.4)},
    ],
    successor: null,
  }
}

export const LINODE_TYPES: LinodeType[] = [
  plan('g6-nanode-1', 'Nanode 1GB', 'nanode', 1, 1, 25, 1, 5),
  plan('g6-standard-1', 'Linode 2GB', 'standard', 1, 2, 50, 2, 12),
  plan('g6-standard-2', 'Linode 4GB', 'standard', 2, 4, 80, 4, 24),
  plan('g6-standard-4', 'Linode 8GB', 'standard', 4, 8, 160, 5, 48),
  plan('g6-standard-6', 'Linode 16GB', 'standard', 6, 16, 320, 8, 96),
  plan('g6-standard-8', 'Linode 32GB', 'standard', 8, 32, 640, 16, 192),
  plan('g6-dedicated-2', 'Dedicated 4GB', 'dedicated', 2, 4, 80, 4, 36),
  plan('g6-dedicated-4', 'Dedicated 8GB', 'dedicated', 4, 8, 160, 5, 72),
  plan('g6-dedicated-8', 'Dedicated 16GB', 'dedicated', 8, 16, 320, 6, 144),
  plan('g6-dedicated-16', 'Dedicated 32GB', 'dedicated', 16, 32, 640, 7, 288),
  plan('g1-gpu-rtx6000-1', 'Dedicated 32GB + RTX6000 GPU x1', 'gpu', 8, 32, 640, 16, 1000, 1),
  plan('g2-gpu-rtx4000a1-s', 'RTX4000 Ada x1 Small', 'gpu', 4, 16, 500, 1, 350, 1),
  plan('g2-gpu-rtx4000a1-m', 'RTX4000 Ada x1 Medium', 'gpu', 8, 32, 500, 2, 446, 1),
  plan('g2-gpu-rtx4000a1-l', 'RTX4000 Ada x1 Large', 'gpu', 16, 64, 500, 3, 638, 1),
  plan('g2-gpu-rtx4000a2-m', 'RTX4000 Ada x2 Medium', 'gpu', 16, 64, 1000, 4, 892, 2),
]

export interface Fixtures {
  regions: Region[]
  kubernetesVersions: {id: string}[]
  lkeTypes: typeof LKE_TYPES
  linodeTypes: LinodeType[]
}

export function defaultFixtures(): Fixtures {
  return structuredClone({regions: REGIONS, kubernetesVersions: LKE_VERSIONS, lkeTypes: LKE_TYPES, linodeTypes: LINODE_TYPES})
}

export const isGpuType = (type: string): boolean => type.includes('gpu')
