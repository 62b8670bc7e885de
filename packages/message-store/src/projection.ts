import type { z } from 'zod';
import type { MessageData, MessageDefinition, StoredMessage } from './message.js';
import type { Projection, Reducer, SnapshotSettings } from './store.js';

/**
 * A projection put together one event type at a time; `build()` gives the plain `Projection` that `fetch`,
 * the decider and the test kit take. Each builder is immutable: `on` and `snapshot` return a new one.
 */
export interface ProjectionBuilder<Entity> {
  /**
   * The reducer of `definition`'s events, given each event parsed by it (typed data), once, before it runs.
   * An event whose data fails the schema throws `InvalidMessageError`, so the consumer fetching parks its message.
   */
  on<Type extends string, Schema extends z.ZodType<MessageData>>(
    definition: MessageDefinition<Type, Schema>,
    reduce: (entity: Entity, event: StoredMessage<Type, z.output<Schema>>) => Entity,
  ): ProjectionBuilder<Entity>;
  /** The reducer of the events of `type`, given as read: for a reducer that reads no data, so any data is accepted. */
  on(type: string, reduce: Reducer<Entity>): ProjectionBuilder<Entity>;
  /** Snapshot the entity every `every` events (the projection's `$snapshot`). */
  snapshot(settings: SnapshotSettings<Entity>): ProjectionBuilder<Entity>;
  /** The projection as `fetch` takes it: `$init`, `$snapshot` if set, and one reducer per event type. */
  build(): Projection<Entity>;
}

/**
 * A projection whose reducers are typed by the message definitions they are for:
 * `defineProjection(initialIdentity).on(Registered, (identity, event) => …).build()`.
 * Registering a type twice, or a type starting with `$` (never a reducer, see `reducerFor`), throws here.
 */
export function defineProjection<Entity>(init: () => Entity): ProjectionBuilder<Entity> {
  return builder(init, new Map(), undefined);
}

function builder<Entity>(
  init: () => Entity,
  reducers: ReadonlyMap<string, Reducer<Entity>>,
  snapshots: SnapshotSettings<Entity> | undefined,
): ProjectionBuilder<Entity> {
  return {
    on(
      typeOrDefinition: string | MessageDefinition<string, z.ZodType<MessageData>>,
      reduce: (entity: Entity, event: StoredMessage) => Entity,
    ): ProjectionBuilder<Entity> {
      const type = typeof typeOrDefinition === 'string' ? typeOrDefinition : typeOrDefinition.type;
      if (type.startsWith('$'))
        throw new Error(`A projection has no reducer for ${type}: types starting with $ are never reduced`);
      if (reducers.has(type)) throw new Error(`The projection already has a reducer for ${type}`);
      const reducer: Reducer<Entity> =
        typeof typeOrDefinition === 'string'
          ? reduce
          : (entity, event) => reduce(entity, typeOrDefinition.parse(event));
      return builder(init, new Map([...reducers, [type, reducer]]), snapshots);
    },
    snapshot(settings) {
      if (snapshots) throw new Error('The projection already has its snapshot settings');
      return builder(init, reducers, settings);
    },
    build() {
      // Own properties, defined (not assigned) so that no type name reaches a setter of Object.prototype.
      const projection: Projection<Entity> = { $init: init, ...(snapshots ? { $snapshot: snapshots } : {}) };
      for (const [type, reducer] of reducers)
        Object.defineProperty(projection, type, {
          value: reducer,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      return projection;
    },
  };
}
