import type {
  DashboardLink as GDashboardLink,
  DataSourceRef as GDataSourceRef,
  GridPos as GGridPos,
  Threshold as GThreshold,
  VariableModel as GVariableModel,
} from '@grafana/schema';
import { expectTypeOf, test } from 'vitest';
import type { DashboardLink, DataSourceRef, GridPos, Threshold, VariableModel } from '../src/index.ts';

// Our model is a plain-data subset of Grafana's: each part must be assignable to @grafana/schema's type.
test('the model fits @grafana/schema', () => {
  expectTypeOf<GridPos>().toExtend<GGridPos>();
  expectTypeOf<DataSourceRef>().toExtend<GDataSourceRef>();
  expectTypeOf<Threshold>().toExtend<GThreshold>();
  expectTypeOf<Omit<DashboardLink, 'type'>>().toExtend<Omit<GDashboardLink, 'type'>>();
  expectTypeOf<VariableModel['type']>().toExtend<GVariableModel['type']>();
  expectTypeOf<VariableModel['name']>().toExtend<GVariableModel['name']>();
});
