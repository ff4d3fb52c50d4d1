import { useEffect, useRef } from "react";

type Charts = typeof import("./pages/charts");

/** Draws a chart into the returned element once `ready`, loading ECharts on first use (its
 * own chunk), and redraws when `deps` change; the chart is disposed with the element. */
export function useChart(
  ready: boolean,
  draw: (charts: Charts, element: HTMLElement) => () => void,
  deps: unknown[],
) {
  const element = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const target = element.current;
    if (!target || !ready) return;
    let dispose: (() => void) | undefined;
    let current = true;
    void import("./pages/charts").then((charts) => {
      if (current) dispose = draw(charts, target);
    });
    return () => {
      current = false;
      dispose?.();
    };
    // `draw` is recreated on every render; the caller's `deps` say when to redraw.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [ready, ...deps]);
  return element;
}
