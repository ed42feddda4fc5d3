/**
 * The price chart (lightweight-charts, loaded on demand so the trading screen's first load stays small): the index
 * prices the market's oracle adapter cached on chain (the SDK's getPriceHistory), and the position's entry,
 * liquidation, stop and target as price lines.
 */
import { useEffect, useRef } from "react";
import { LineSeries, createChart, type IChartApi, type ISeriesApi, type IPriceLine, type UTCTimestamp } from "lightweight-charts";

export interface ChartPoint {
  readonly time: number;
  readonly value: number;
}
export interface ChartLine {
  readonly price: number;
  readonly title: string;
  readonly color: string;
}

export default function PriceChart({ points, lines, label }: { points: readonly ChartPoint[]; lines: readonly ChartLine[]; label: string }) {
  const box = useRef<HTMLDivElement>(null);
  const chart = useRef<IChartApi>(undefined);
  const series = useRef<ISeriesApi<"Line">>(undefined);
  const drawn = useRef<IPriceLine[]>([]);
  useEffect(() => {
    const c = createChart(box.current!, {
      height: 220,
      autoSize: true,
      layout: { background: { color: "#171b21" }, textColor: "#a9b4c2" },
      grid: { vertLines: { color: "#222831" }, horzLines: { color: "#222831" } },
      timeScale: { timeVisible: true, secondsVisible: true },
    });
    chart.current = c;
    series.current = c.addSeries(LineSeries, { color: "#7cb7ff", lineWidth: 2 });
    return () => c.remove();
  }, []);
  useEffect(() => {
    series.current?.setData(points.map((p) => ({ time: p.time as UTCTimestamp, value: p.value })));
  }, [points]);
  useEffect(() => {
    const s = series.current;
    if (s === undefined) return;
    for (const line of drawn.current) s.removePriceLine(line);
    drawn.current = lines.map((l) => s.createPriceLine({ price: l.price, color: l.color, title: l.title, lineWidth: 1, axisLabelVisible: true }));
  }, [lines]);
  return (
    <figure className="chart-figure">
      <figcaption className="sr-only">{label}: the prices cached on chain, with the position's entry, liquidation, stop and target lines</figcaption>
      <div
        ref={box}
        data-testid="chart"
        className="chart"
        data-points={points.length}
        data-first-time={points[0]?.time}
        data-lines={lines.map((l) => l.title).join(" ")}
      />
    </figure>
  );
}
