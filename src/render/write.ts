import {readdirSync, readFileSync, renameSync, rmSync, writeFileSync} from 'node:fs'
import path from 'node:path'
import {mkdirs} from '../lib/fs.js'
import {UsageError} from '../lib/errors.js'
import {emitYaml} from '../lib/emit-yaml.js'
import type {K8sObject, Rendering} from './render.js'

export const HEADER = '# Rendered by fedobs. Do not edit: change the federation file and render again.\n'

function yamlDoc(object: unknown): string {
  return emitYaml(object)
}

/** One multi-document YAML stream, in apply order. */
export function toYamlStream(objects: K8sObject[]): string {
  return objects.map((o) => `---\n${yamlDoc(o)}`).join('')
}

/** The objects as one Kubernetes List (kubectl apply -f accepts it as is). */
export function toJsonList(objects: K8sObject[]): {apiVersion: 'v1'; kind: 'List'; items: K8sObject[]} {
  return {apiVersion: 'v1', kind: 'List', items: objects}
}

export interface WrittenDirectory {
  directory: string
  files: string[]
  removed: string[]
}

/**
 * Write a kustomize-ready directory: one file per component and a kustomization.yaml listing every
 * file (`kubectl apply -k DIR` and GitOps tools take it as is). Files fedobs wrote earlier and no
 * longer renders are removed; files it did not write are never touched.
 */
export function writeKustomizeDirectory(directory: string, rendering: Rendering): WrittenDirectory {
  const kustomizationPath = path.join(directory, 'kustomization.yaml')
  mkdirs(directory)
  const existing = readdirSync(directory)
  if (existing.includes('kustomization.yaml') && !isOurs(kustomizationPath)) {
    throw new UsageError(`${kustomizationPath} exists and was not written by fedobs; refusing to overwrite it`, {
      hint: 'Render into an empty directory, or one fedobs rendered before.',
      code: 'foreign-file',
    })
  }
  const files = rendering.files.filter((f) => f.objects.length > 0)
  const names = files.map((f) => f.name)
  for (const file of files) {
    atomicWrite(path.join(directory, file.name), HEADER + file.objects.map((o) => `---\n${yamlDoc(o)}`).join(''))
  }
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    metadata: {name: `fedobs-${rendering.cluster.name}`},
    resources: names,
  }
  atomicWrite(kustomizationPath, HEADER + yamlDoc(kustomization))
  const removed: string[] = []
  for (const name of existing) {
    if (!name.endsWith('.yaml') || name === 'kustomization.yaml' || names.includes(name)) continue
    const full = path.join(directory, name)
    if (isOurs(full)) {
      rmSync(full)
      removed.push(name)
    }
  }
  return {directory, files: [...names, 'kustomization.yaml'], removed}
}

function isOurs(file: string): boolean {
  try {
    return readFileSync(file, 'utf8').startsWith(HEADER)
  } catch {
    return false
  }
}

function atomicWrite(file: string, text: string): void {
  const temporary = `${file}.${process.pid}.tmp`
  writeFileSync(temporary, text, {mode: 0o644})
  renameSync(temporary, file)
}
