// The charts, drawn with Apache ECharts using only the parts they need (tree-shaken), in a
// chunk of its own that only chart pages load: the rep's Today page never does. Each chart
// has its figures in a table beside it, for keyboards and screen readers.
import * as echarts from "echarts/core";
import { FunnelChart, HeatmapChart, LineChart, RadarChart } from "echarts/charts";
import {
  GridComponent,
  LegendComponent,
  RadarComponent,
  TooltipComponent,
  VisualMapComponent,
} from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([
  FunnelChart,
  HeatmapChart,
  LineChart,
  RadarChart,
  GridComponent,
  LegendComponent,
  RadarComponent,
  TooltipComponent,
  VisualMapComponent,
  CanvasRenderer,
]);

/** Draws `option` into `element`, without animation (figures, not a show). */
function mount(element: HTMLElement, option: echarts.EChartsCoreOption): echarts.ECharts {
  const chart = echarts.init(element, undefined, { renderer: "canvas" });
  chart.setOption({ animation: false, ...option });
  return chart;
}

function disposer(chart: echarts.ECharts): () => void {
  const resize = () => chart.resize();
  window.addEventListener("resize", resize);
  return () => {
    window.removeEventListener("resize", resize);
    chart.dispose();
  };
}

export interface FunnelData {
  /** Stage names and how many deals reached each, in pipeline order. */
  stages: { name: string; reached: number }[];
}

/** The funnel: deals that reached each stage, widest first. */
export function drawFunnel(element: HTMLElement, data: FunnelData): () => void {
  const max = Math.max(1, ...data.stages.map((s) => s.reached));
  const chart = mount(element, {
    tooltip: { trigger: "item", formatter: "{b}: {c}" },
    series: [
      {
        type: "funnel",
        sort: "none",
        min: 0,
        max,
        minSize: "8%",
        left: "10%",
        width: "80%",
        label: { show: true, position: "inside", formatter: "{b}  {c}" },
        data: data.stages.map((s) => ({ name: s.name, value: s.reached })),
      },
    ],
  });
  return disposer(chart);
}

export interface RadarData {
  dimensions: string[];
  /** One line per moment (now, a month ago), scores 0-100. */
  series: { name: string; scores: number[] }[];
}

/** The customer's three grading dimensions, now against a month ago. */
export function drawRadar(element: HTMLElement, data: RadarData): () => void {
  const chart = mount(element, {
    tooltip: {},
    legend: { bottom: 0, data: data.series.map((s) => s.name) },
    radar: { indicator: data.dimensions.map((name) => ({ name, max: 100 })), radius: "62%" },
    series: [
      {
        type: "radar",
        data: data.series.map((s, i) => ({
          name: s.name,
          value: s.scores,
          areaStyle: i === 0 ? { opacity: 0.2 } : undefined,
          lineStyle: i === 0 ? undefined : { type: "dashed" },
        })),
      },
    ],
  });
  return disposer(chart);
}

export interface BacktestData {
  months: string[];
  lines: { name: string; values: number[]; dashed?: boolean }[];
}

/** What the forecast said against what was won, month by month. */
export function drawBacktest(element: HTMLElement, data: BacktestData): () => void {
  const chart = mount(element, {
    tooltip: { trigger: "axis" },
    legend: { bottom: 0 },
    grid: { left: 80, right: 20, top: 20, bottom: 60 },
    xAxis: { type: "category", data: data.months },
    yAxis: { type: "value" },
    series: data.lines.map((l) => ({
      type: "line",
      name: l.name,
      data: l.values,
      lineStyle: l.dashed ? { type: "dashed" } : undefined,
    })),
  });
  return disposer(chart);
}

export interface HeatData {
  stages: string[];
  teams: string[];
  /** [stage index, team index, median dwell hours, over the limit (1) or not (0)] */
  cells: [number, number, number, number][];
  hoursLabel: string;
}

/** Draws into `element`; `onPick(stageIndex, teamIndex)` when a cell is clicked. Returns a
 * disposer. */
export function drawHeatMap(
  element: HTMLElement,
  data: HeatData,
  onPick: (stage: number, team: number) => void,
): () => void {
  const max = Math.max(1, ...data.cells.map((c) => c[2]));
  const chart = mount(element, {
    tooltip: {
      formatter: (p: { value: [number, number, number, number] }) =>
        `${data.stages[p.value[0]]} · ${data.teams[p.value[1]]}<br/>${p.value[2].toFixed(1)} ${data.hoursLabel}${p.value[3] ? " ⚠" : ""}`,
    },
    grid: { left: 120, right: 20, top: 10, bottom: 100 },
    xAxis: { type: "category", data: data.stages, axisLabel: { rotate: 30 } },
    yAxis: { type: "category", data: data.teams },
    visualMap: {
      min: 0,
      max,
      calculable: false,
      orient: "horizontal",
      left: "center",
      bottom: 0,
      inRange: { color: ["#e8f1fd", "#f5b971", "#b3261e"] },
      dimension: 2,
    },
    series: [
      {
        type: "heatmap",
        data: data.cells,
        label: {
          show: true,
          formatter: (p: { value: [number, number, number, number] }) =>
            `${p.value[2].toFixed(0)}${p.value[3] ? "!" : ""}`,
        },
        itemStyle: { borderColor: "#fff", borderWidth: 1 },
      },
    ],
  });
  chart.on("click", (p) => {
    const value = p.value as [number, number, number, number] | undefined;
    if (value) onPick(value[0], value[1]);
  });
  return disposer(chart);
}
