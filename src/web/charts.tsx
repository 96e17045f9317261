import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import type { Heatmap } from './types.js';

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

export interface ChartSeries {
  label: string;
  color: string;
  kind: 'bars' | 'line';
  values: number[];
}

/**
 * Bars and lines over labelled slots with uPlot (canvas, about 50 KB). The figures are also in a
 * table on the same page, for screen readers and for copying.
 */
export function SlotChart({ x, series, label, height = 260 }: { x: string[]; series: ChartSeries[]; label: string; height?: number }) {
  const el = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const target = el.current;
    if (!target) return;
    const bars = uPlot.paths.bars?.({ size: [0.7, 48] });
    // a canvas does not know currentColor: the axes take the page's text colour (light or dark)
    const ink = getComputedStyle(target).color;
    const plot = new uPlot(
      {
        width: Math.max(280, target.clientWidth),
        height,
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: false, range: (_u, min, max) => [min - 0.5, max + 0.5] } },
        axes: [
          { values: (_u, ticks) => ticks.map((t) => x[t] ?? ''), stroke: ink, grid: { show: false } },
          { stroke: ink, grid: { stroke: 'rgba(128,128,128,0.25)' } },
        ],
        series: [
          { label: 'Hour' },
          ...series.map((s) =>
            s.kind === 'bars'
              ? { label: s.label, fill: s.color, stroke: s.color, width: 0, paths: bars, points: { show: false } }
              : { label: s.label, stroke: s.color, width: 2, points: { show: true, size: 5, fill: s.color } },
          ),
        ],
      },
      [x.map((_, i) => i), ...series.map((s) => s.values)],
      target,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(280, target.clientWidth), height }));
    resize.observe(target);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [x.join(), JSON.stringify(series), height]);
  return <div class="chart" ref={el} role="img" aria-label={label} />;
}

/** Weekday-by-hour grid, shaded by calls offered; each cell says its figures in words. */
export function HeatmapGrid({ data }: { data: Heatmap }) {
  const grid = Array.from({ length: 7 }, () => Array.from({ length: 24 }, () => ({ offered: 0, missed: 0 })));
  for (const c of data.cells) {
    const row = grid[c.weekday];
    if (row) row[c.hour] = { offered: c.offered, missed: c.missed };
  }
  const max = Math.max(1, ...data.cells.map((c) => c.offered));
  // Monday first, as a working week reads
  const order = [1, 2, 3, 4, 5, 6, 0];
  return (
    <div class="heatmap-wrap">
      <table class="heatmap" aria-label={`Calls offered per weekday and hour (${data.tz})`}>
        <thead>
          <tr>
            <th scope="col">
              <span class="sr-only">Weekday</span>
            </th>
            {Array.from({ length: 24 }, (_, h) => (
              <th scope="col" key={h}>
                {String(h).padStart(2, '0')}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {order.map((d) => (
            <tr key={d}>
              <th scope="row">{WEEKDAYS[d]?.slice(0, 3)}</th>
              {(grid[d] ?? []).map((cell, h) => {
                const level = cell.offered === 0 ? 0 : Math.ceil((cell.offered / max) * 5);
                return (
                  <td key={h} class={`heat heat-${level}`} title={`${WEEKDAYS[d]} ${String(h).padStart(2, '0')}:00 — ${cell.offered} offered, ${cell.missed} missed`}>
                    {cell.offered > 0 ? cell.offered : ''}
                    <span class="sr-only">{`${WEEKDAYS[d]} ${h}:00, ${cell.offered} offered, ${cell.missed} missed`}</span>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
