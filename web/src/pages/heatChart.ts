// The heat map drawn with Apache ECharts, only the parts it needs (tree-shaken), in a chunk
// of its own that only the manager's process page loads.
import * as echarts from "echarts/core";
import { HeatmapChart } from "echarts/charts";
import { GridComponent, TooltipComponent, VisualMapComponent } from "echarts/components";
import { CanvasRenderer } from "echarts/renderers";

echarts.use([HeatmapChart, GridComponent, TooltipComponent, VisualMapComponent, CanvasRenderer]);

export interface HeatData {
  stages: string[];
  teams: string[];
  /** [stage index, team index, median dwell hours, over the limit (1) or not (0)] */
  cells: [number, number, number, number][];
  hoursLabel: string;
}

/** Draws into `element`; `onPick(stageIndex)` when a cell is clicked. Returns a disposer. */
export function drawHeatMap(
  element: HTMLElement,
  data: HeatData,
  onPick: (stage: number) => void,
): () => void {
  const chart = echarts.init(element, undefined, { renderer: "canvas" });
  const max = Math.max(1, ...data.cells.map((c) => c[2]));
  chart.setOption({
    animation: false,
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
    if (value) onPick(value[0]);
  });
  const resize = () => chart.resize();
  window.addEventListener("resize", resize);
  return () => {
    window.removeEventListener("resize", resize);
    chart.dispose();
  };
}
