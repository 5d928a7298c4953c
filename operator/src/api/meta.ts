// Object metadata and status conditions, shaped as in Kubernetes (metav1.ObjectMeta, metav1.Condition).
import { z } from 'zod';
import { listMap } from './cel.ts';
import { LIMITS } from './constants.ts';
import { timestamp } from './formats.ts';

/**
 * What the operator reads of metadata. Loose: unknown fields pass through untouched, so an object read, changed
 * and written back loses nothing. The CRD never carries this schema (the API server owns metadata).
 */
export const ObjectMetaSchema = z.looseObject({
  name: z.string().optional(),
  generateName: z.string().optional(),
  namespace: z.string().optional(),
  uid: z.string().optional(),
  resourceVersion: z.string().optional(),
  generation: z.int().optional(),
  creationTimestamp: z.string().optional(),
  deletionTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
  finalizers: z.array(z.string()).optional(),
  ownerReferences: z
    .array(
      z.looseObject({
        apiVersion: z.string(),
        kind: z.string(),
        name: z.string(),
        uid: z.string(),
        controller: z.boolean().optional(),
        blockOwnerDeletion: z.boolean().optional(),
      }),
    )
    .optional(),
});
export type ObjectMeta = z.output<typeof ObjectMetaSchema>;

export const ConditionStatusSchema = z.enum(['True', 'False', 'Unknown']);
export type ConditionStatus = z.output<typeof ConditionStatusSchema>;

/** metav1.Condition, with the same limits as upstream. */
export const ConditionSchema = z
  .object({
    type: z
      .string()
      .min(1)
      .max(316)
      .regex(/^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/, {
        message: 'must be a CamelCase condition type such as Ready',
      })
      .describe('Type of condition in CamelCase, such as Ready or Succeeded.'),
    status: ConditionStatusSchema.describe('Status of the condition: True, False or Unknown.'),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe('The metadata.generation the condition was set for; older than the current generation means stale.'),
    lastTransitionTime: timestamp().describe('When the condition last changed from one status to another.'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(/^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/, { message: 'must be a CamelCase reason' })
      .describe('Programmatic identifier of the reason for the last transition, in CamelCase.'),
    message: z.string().max(32768).describe('Human-readable message about the transition; may be empty.'),
  })
  .describe('One observation of the state of the object (metav1.Condition).');
export type Condition = z.output<typeof ConditionSchema>;

export const ConditionsSchema = listMap(z.array(ConditionSchema).max(LIMITS.conditionsMax), ['type']);
