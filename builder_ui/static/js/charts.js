// One ECharts tile: the chart API's result (a JSON block beside the element) drawn on a canvas. ECharts is
// imported here only, so only dashboard pages load it. A click on a bar, slice, stage or province asks to drill down.
import * as echarts from "../vendor/echarts/echarts.esm.min.js";

let chinaMap = null;

async function ensureChina() {
  if (!chinaMap) chinaMap = fetch("/static/vendor/echarts/china.json").then((r) => r.json()).then((geo) => echarts.registerMap("china", geo));
  return chinaMap;
}

function series(type, data, stacked) {
  const kind = type === "area" ? "line" : type === "column" ? "bar" : type;
  return data.series.map((s) => ({ name: s.name, type: kind, data: s.data, stack: stacked ? "all" : undefined,
    // smoothMonotone: a smoothed line never overshoots its points (no dip below zero between two months)
    areaStyle: type === "area" ? {} : undefined, smooth: kind === "line", smoothMonotone: "x" }));
}

function optionFor(result) {
  const { type, data } = result;
  const base = { tooltip: { trigger: ["pie", "donut", "funnel", "map"].includes(type) ? "item" : "axis" }, grid: { containLabel: true, left: 8, right: 16, top: 36, bottom: 8 } };
  const legend = { top: 0, type: "scroll" };  // above the plot: at the bottom it sits on the axis labels
  if (type === "bar") return { ...base, legend, xAxis: { type: "value" }, yAxis: { type: "category", data: data.categories, inverse: true }, series: series(type, data) };
  if (["column", "line", "area"].includes(type)) return { ...base, legend, xAxis: { type: "category", data: data.categories }, yAxis: { type: "value" }, series: series(type, data) };
  if (type === "pie" || type === "donut") return { ...base, legend: { bottom: 0, type: "scroll" }, series: [{ type: "pie", radius: type === "donut" ? ["38%", "56%"] : "56%", center: ["50%", "45%"], label: { width: 80, overflow: "truncate" }, data }] };
  if (type === "funnel") return { ...base, series: [{ type: "funnel", sort: "none", left: "4%", width: "58%", label: { formatter: "{b}: {c}", width: 120, overflow: "truncate" },
    data: data.stages.map((s) => ({ name: s.name, value: s.value, stage: s.stage })) }] };
  if (type === "map") {
    const max = Math.max(1, ...data.data.map((d) => d.value || 0));
    return { tooltip: { trigger: "item" }, visualMap: { min: 0, max, left: 0, bottom: 0, calculable: true }, series: [{ type: "map", map: "china", roam: true, data: data.data }] };
  }
  return base;
}

const OTHERS = "__others__";  // the "Others" group of a top-N chart: many values, no single list

function pointOf(result, params) {
  // The raw dimension values of the clicked point, as the drill API wants them (the chart API gives
  // `keys` beside the category texts, a `key` per split series and per slice); null when there is none.
  const [first, second] = result.dimensions;
  const data = result.data;
  let point = null;
  if (result.type === "funnel" && params.data && params.data.stage !== undefined) point = { [first.key]: params.data.stage };
  else if (["pie", "donut"].includes(result.type) && params.data && "key" in params.data) point = { [first.key]: params.data.key };
  else if (result.type === "map" && params.data?.keys?.length) {
    const keys = params.data.keys;  // every spelling of the province ("广东", "广东省")
    point = { [first.key]: keys.length === 1 ? keys[0] : keys };
  }
  else if (data.keys && params.dataIndex !== undefined) {
    point = { [first.key]: data.keys[params.dataIndex] };
    const split = data.series[params.seriesIndex];
    if (second && split && "key" in split) point[second.key] = split.key;
  }
  return point && !Object.values(point).includes(OTHERS) ? point : null;
}

export async function start(el) {
  const result = JSON.parse(el.dataset.result);  // htmx drops <script> blocks from partials: the JSON rides in an attribute;
  if (result.type === "map") await ensureChina();
  const lang = document.documentElement.lang === "zh-CN" ? "ZH" : "EN";
  const chart = echarts.init(el, null, { renderer: "canvas", locale: lang });
  chart.setOption(optionFor(result));
  chart.on("click", (params) => {
    const point = pointOf(result, params);
    if (point) el.dispatchEvent(new CustomEvent("tg-drill", { bubbles: true, detail: { chart: el.dataset.chart, point } }));
  });
  new ResizeObserver(() => chart.resize()).observe(el);
  el.chart = chart;  // tests read the option back
}
