// A backtest report's charts (uPlot): equity, drawdown, and the trades on price. The series come from
// the page's <script id="series"> (trading/backtest/report.py, report_series); used by the admin's
// result page and inlined into the CLI's self-contained report.
(function () {
  const s = JSON.parse(document.getElementById("series").textContent);
  const width = Math.min(1100, document.body.clientWidth - 20);
  const line = (label, stroke) => ({ label, stroke, width: 1.5 });
  const axes = [{}, { size: 80 }]; // room for "120,000" on the y axis
  new uPlot({ width, height: 260, axes, series: [{}, line("equity", "#2463eb")] }, [s.x, s.equity], document.getElementById("equity"));
  new uPlot({ width, height: 160, axes, series: [{}, Object.assign(line("drawdown", "#c0392b"), { fill: "rgba(192,57,43,0.15)" })] },
    [s.x, s.drawdown], document.getElementById("drawdown"));
  if (s.price && s.price.length) {
    const day = (t) => Math.floor(t / 86400) * 86400;
    const index = new Map(s.x.map((x, i) => [x, i]));
    const buys = s.x.map(() => null), sells = s.x.map(() => null);
    for (const t of s.trades) {
      if (t.symbol !== s.price_symbol) continue;
      const i = index.get(day(t.t));
      if (i !== undefined) (t.side === "BUY" ? buys : sells)[i] = t.price;
    }
    const marks = (label, stroke) => ({ label, stroke, width: 0, points: { show: true, size: 9, fill: stroke } });
    new uPlot({ width, height: 260, axes, series: [{}, line("close", "#555"), marks("buy", "#1e8449"), marks("sell", "#c0392b")] },
      [s.x, s.price, buys, sells], document.getElementById("price"));
  }
})();
