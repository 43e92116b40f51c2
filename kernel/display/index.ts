// The display layer: protocol, display functions, plotly figures, live views, cell context, and
// the views of the runtime's objects (installed here, so loading the display layer enables them).
import { installRuntimeViews } from "./runtime-views";
import { installStudioViews } from "./studio-views";

installRuntimeViews();
installStudioViews();

export { displaySymbol, toBundle, isDisplayable, registerFormatter } from "./bundle";
export type { MimeBundle, Displayable } from "./bundle";
export { display } from "./display";
export type { Display, DisplayHandle, DisplayOptions } from "./display";
export { Figure } from "./plotly";
export type { FigureJSON, PlotlyTrace, PlotlyLayout, PlotlyConfig } from "./plotly";
export { liveView } from "./live";
export type { LiveView, LiveViewOptions } from "./live";
export { trainingFigure, type TrainingFigureOptions } from "./figures/training";
export { plot } from "./plot";
export { tableView } from "./table";
export { cellContext } from "./context";
export type { CellContext } from "./context";
