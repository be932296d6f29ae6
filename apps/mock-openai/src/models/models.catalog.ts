/** The embedding models the mock serves, with OpenAI's published properties. */
export interface EmbeddingModelSpec {
  readonly id: string;
  readonly created: number;
  readonly ownedBy: string;
  /** Length of the vector when `dimensions` is not given. */
  readonly nativeDimensions: number;
  /** Whether the request may shorten the vector with `dimensions` (text-embedding-3-* only). */
  readonly supportsDimensions: boolean;
  readonly encoding: 'cl100k_base';
}

export const EMBEDDING_MODELS: readonly EmbeddingModelSpec[] = [
  {
    id: 'text-embedding-3-small',
    created: 1705948997,
    ownedBy: 'system',
    nativeDimensions: 1536,
    supportsDimensions: true,
    encoding: 'cl100k_base',
  },
  {
    id: 'text-embedding-3-large',
    created: 1705953180,
    ownedBy: 'system',
    nativeDimensions: 3072,
    supportsDimensions: true,
    encoding: 'cl100k_base',
  },
  {
    id: 'text-embedding-ada-002',
    created: 1671217299,
    ownedBy: 'openai-internal',
    nativeDimensions: 1536,
    supportsDimensions: false,
    encoding: 'cl100k_base',
  },
];

export function findModel(id: string): EmbeddingModelSpec | undefined {
  return EMBEDDING_MODELS.find((m) => m.id === id);
}

/** OpenAI's model object. */
export interface ModelObject {
  id: string;
  object: 'model';
  created: number;
  owned_by: string;
}

export function toModelObject(m: EmbeddingModelSpec): ModelObject {
  return { id: m.id, object: 'model', created: m.created, owned_by: m.ownedBy };
}
