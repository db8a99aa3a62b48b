'use client';
// The Overview's charts (Recharts), each a figure with a title and its numbers as a table for
// screen readers: the drawing itself is hidden from them, the table says the same thing.
import type { ReactNode } from 'react';
import {
  Area,
  AreaChart,
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  Pie,
  PieChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';

/** The light theme's chart colours: the brand green first (the recommended version). */
export const CHART_COLORS = ['#1f9a5f', '#0284c7', '#d97706', '#7c3aed', '#db2777', '#64748b'];
const AXIS = { stroke: '#64748b', fontSize: 12 } as const;

export function ChartFigure({
  title,
  description,
  table,
  children,
}: {
  title: string;
  description?: string;
  /** the chart's numbers, for screen readers */
  table: ReactNode;
  children: ReactNode;
}) {
  return (
    <figure className="min-w-0">
      <figcaption>
        <h2 className="text-sm font-semibold text-ink">{title}</h2>
        {description && <p className="text-xs text-slate-500">{description}</p>}
      </figcaption>
      <div aria-hidden="true" className="mt-3">
        {children}
      </div>
      <div className="sr-only">{table}</div>
    </figure>
  );
}

export function DataTable({
  caption,
  columns,
  rows,
}: {
  caption: string;
  columns: readonly string[];
  rows: readonly (readonly (string | number)[])[];
}) {
  return (
    <table>
      <caption>{caption}</caption>
      <thead>
        <tr>
          {columns.map((column) => (
            <th key={column} scope="col">
              {column}
            </th>
          ))}
        </tr>
      </thead>
      <tbody>
        {rows.map((row, i) => (
          <tr key={i}>
            {row.map((cell, j) =>
              j === 0 ? (
                <th key={j} scope="row">
                  {cell}
                </th>
              ) : (
                <td key={j}>{cell}</td>
              ),
            )}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Donut({
  slices,
  size = 140,
}: {
  slices: readonly { label: string; value: number; color: string }[];
  size?: number;
}) {
  return (
    <PieChart width={size} height={size}>
      <Pie
        data={[...slices]}
        dataKey="value"
        nameKey="label"
        innerRadius={size * 0.3}
        outerRadius={size * 0.48}
        isAnimationActive={false}
        stroke="#ffffff"
      >
        {slices.map((slice) => (
          <Cell key={slice.label} fill={slice.color} />
        ))}
      </Pie>
      <Tooltip />
    </PieChart>
  );
}

const timeOfDay = (iso: string) =>
  new Date(iso).toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });

export function OnlineAreaChart({
  points,
}: {
  points: readonly { at: string; online: number; devices: number }[];
}) {
  return (
    <ResponsiveContainer width="100%" height={220}>
      <AreaChart data={[...points]} margin={{ top: 4, right: 8, bottom: 0, left: -16 }}>
        <CartesianGrid stroke="#e2e8f0" vertical={false} />
        <XAxis dataKey="at" tickFormatter={timeOfDay} minTickGap={48} {...AXIS} />
        <YAxis allowDecimals={false} {...AXIS} />
        <Tooltip labelFormatter={(value) => new Date(value as string).toLocaleString()} />
        <Area
          type="monotone"
          dataKey="devices"
          name="devices"
          stroke="#94a3b8"
          fill="#f1f5f9"
          isAnimationActive={false}
        />
        <Area
          type="monotone"
          dataKey="online"
          name="online"
          stroke="#1f9a5f"
          fill="#d5ecdf"
          isAnimationActive={false}
        />
      </AreaChart>
    </ResponsiveContainer>
  );
}

export function StackedDayBars<Key extends string>({
  days,
  series,
}: {
  days: readonly ({ day: string } & Record<Key, number>)[];
  series: readonly { key: Key; label: string; color: string }[];
}) {
  return (
    <ResponsiveContainer width="100%" height={220}>
      <BarChart data={[...days]} margin={{ top: 4, right: 8, bottom: 0, left: -16 }}>
        <CartesianGrid stroke="#e2e8f0" vertical={false} />
        <XAxis dataKey="day" tickFormatter={(day: string) => day.slice(5)} {...AXIS} />
        <YAxis allowDecimals={false} {...AXIS} />
        <Tooltip />
        {/* in the series' order (succeeded first), not sorted by name */}
        <Legend wrapperStyle={{ fontSize: 12 }} itemSorter={null} />
        {series.map((s) => (
          <Bar
            key={s.key}
            dataKey={s.key}
            name={s.label}
            stackId="outcomes"
            fill={s.color}
            isAnimationActive={false}
          />
        ))}
      </BarChart>
    </ResponsiveContainer>
  );
}
