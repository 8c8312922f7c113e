/*
** sweep_svg.c: the accuracy-cost plot of a sweep, hand-written SVG (see
** sweep.h).
**
** x is strong-model tokens as % of strong-only's, y is accuracy.  Each
** curve gets a colour and a marker shape: its Pareto frontier (with the
** anchors) as a line, held flat (dashed) after its last vertex, and its
** points as markers, filled on the frontier and hollow off it.  Weak-only
** and strong-only are black stars with dashed guide lines at their
** accuracies.  With intervals (sweep_bootstrap), each frontier has a
** translucent band through its vertices' 95% accuracy intervals and each
** point whiskers for its accuracy and cost intervals.  The legend on the
** right names each curve with its CPT(95%) and APGR.
*/
#include "sweep.h"

#include <math.h>
#include <string.h>

#define W      960 /* canvas */
#define H      600
#define LEFT   80 /* plot area */
#define RIGHT  680
#define TOP    56
#define BOTTOM 520
#define PI     3.14159265358979323846

static const char *const colours[] = {
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd",
    "#8c564b", "#e377c2", "#17becf", "#bcbd22", "#7f7f7f",
};
#define N_COLOURS (sizeof colours / sizeof *colours)

typedef struct frame {
    double xmax;       /* cost share at the right edge */
    double ymin, ymax; /* accuracy at the bottom and top edges */
} frame_t;


static double
px(const frame_t *fr, double cost)
{
    return LEFT + (RIGHT - LEFT) * cost / fr->xmax;
}


static double
py(const frame_t *fr, double acc)
{
    return BOTTOM - (BOTTOM - TOP) * (acc - fr->ymin) / (fr->ymax - fr->ymin);
}


/* Text with the five XML specials escaped. */
static void
xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        default:
            fputc(*s, f);
        }
    }
}


/* Marker shape (by curve index) at (x, y); hollow draws a white fill. */
static void
marker(FILE *f, int shape, double x, double y, const char *colour, int hollow)
{
    const char *fill = hollow ? "#ffffff" : colour;
    switch (shape % 4) {
    case 0:
        fprintf(f,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\" "
                "stroke=\"%s\" stroke-width=\"1.5\"/>\n",
                x, y, fill, colour);
        break;
    case 1:
        fprintf(f,
                "<rect x=\"%.1f\" y=\"%.1f\" width=\"7\" height=\"7\" "
                "fill=\"%s\" stroke=\"%s\" stroke-width=\"1.5\"/>\n",
                x - 3.5, y - 3.5, fill, colour);
        break;
    case 2:
        fprintf(f,
                "<path d=\"M%.1f %.1fl4.5 4.5l-4.5 4.5l-4.5 -4.5z\" "
                "fill=\"%s\" stroke=\"%s\" stroke-width=\"1.5\"/>\n",
                x, y - 4.5, fill, colour);
        break;
    default:
        fprintf(f,
                "<path d=\"M%.1f %.1fl4.5 8l-9 0z\" fill=\"%s\" "
                "stroke=\"%s\" stroke-width=\"1.5\"/>\n",
                x, y - 5, fill, colour);
    }
}


static void
star(FILE *f, double x, double y)
{
    fprintf(f, "<path d=\"");
    for (int i = 0; i < 10; i++) {
        double r = i % 2 ? 3.5 : 8.5, a = PI / 5 * i - PI / 2;
        fprintf(f, "%c%.1f %.1f", i ? 'L' : 'M', x + r * cos(a),
                y + r * sin(a));
    }
    fprintf(f, "z\" fill=\"#000000\" stroke=\"#ffffff\" "
               "stroke-width=\"0.8\"/>\n");
}


/* Fit the axes around the anchors and every measured point. */
static void
fit_frame(const sweep_t *s, frame_t *fr)
{
    double cmax = 1, lo = s->weak.accuracy, hi = s->strong.accuracy;

    if (lo > hi) {
        double t = lo;
        lo = hi;
        hi = t;
    }
    for (size_t i = 0; i < s->n_curves; i++) {
        const sweep_curve_t *c = &s->curves[i];
        if (c->error[0])
            continue;
        for (size_t k = 0; k < c->n; k++) {
            const sweep_point_t *p = &c->points[k];
            if (!isfinite(p->cost) || !isfinite(p->accuracy))
                continue;
            cmax = fmax(cmax, p->cost);
            lo = fmin(lo, p->accuracy);
            hi = fmax(hi, p->accuracy);
        }
    }
    fr->xmax = ceil(cmax * 10 - 1e-9) / 10;
    fr->ymin = fmax(0, floor((lo - 0.02) * 20) / 20);
    fr->ymax = fmin(1, ceil((hi + 0.02) * 20) / 20);
    if (fr->ymax - fr->ymin < 0.1)
        fr->ymax = fr->ymin + 0.1;
}


static void
axes(FILE *f, const frame_t *fr)
{
    double xstep = fr->xmax > 1.0001 ? 0.2 : 0.1;
    double ystep = fr->ymax - fr->ymin > 0.5 ? 0.1 : 0.05;

    fprintf(f, "<g font-size=\"12\" fill=\"#333333\">\n");
    for (int i = 0; i * xstep <= fr->xmax + 1e-9; i++) {
        double x = px(fr, i * xstep);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                "stroke=\"#e4e4e4\"/>\n",
                x, TOP, x, BOTTOM);
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
                "stroke=\"#333333\"/>\n",
                x, BOTTOM, x, BOTTOM + 5);
        fprintf(f,
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.0f%%"
                "</text>\n",
                x, BOTTOM + 19, 100 * i * xstep);
    }
    int first = (int)ceil(fr->ymin / ystep - 1e-9);
    for (int i = first; i * ystep <= fr->ymax + 1e-9; i++) {
        double y = py(fr, i * ystep);
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                "stroke=\"#e4e4e4\"/>\n",
                LEFT, y, RIGHT, y);
        fprintf(f,
                "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" "
                "stroke=\"#333333\"/>\n",
                LEFT - 5, y, LEFT, y);
        fprintf(f,
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.0f%%"
                "</text>\n",
                LEFT - 8, y + 4, 100 * i * ystep);
    }
    fprintf(f,
            "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
            "fill=\"none\" stroke=\"#333333\"/>\n",
            LEFT, TOP, RIGHT - LEFT, BOTTOM - TOP);
    fprintf(f,
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
            "font-size=\"14\">strong-model tokens per problem, %% of "
            "strong-only</text>\n",
            (LEFT + RIGHT) / 2, BOTTOM + 44);
    fprintf(f,
            "<text transform=\"translate(%d %d) rotate(-90)\" "
            "text-anchor=\"middle\" font-size=\"14\">accuracy</text>\n",
            LEFT - 52, (TOP + BOTTOM) / 2);
    fprintf(f, "</g>\n");
}


static void
anchors(FILE *f, const sweep_t *s, const frame_t *fr)
{
    double yw = py(fr, s->weak.accuracy), ys = py(fr, s->strong.accuracy);

    fprintf(f,
            "<g stroke=\"#555555\" stroke-dasharray=\"2 4\">\n"
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n"
            "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\"/>\n</g>\n",
            LEFT, yw, RIGHT, yw, LEFT, ys, RIGHT, ys);
    star(f, px(fr, 0), yw);
    star(f, px(fr, 1), ys);
    fprintf(f,
            "<g font-size=\"12\" fill=\"#000000\">\n"
            "<text x=\"%d\" y=\"%.1f\">weak-only %.1f%%</text>\n"
            "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">strong-only "
            "%.1f%%</text>\n</g>\n",
            LEFT + 12, yw + (yw > BOTTOM - 20 ? -8 : 16),
            100 * s->weak.accuracy, px(fr, 1) - 12,
            ys + (ys < TOP + 20 ? 18 : -8), 100 * s->strong.accuracy);
}


/* The accuracy interval of frontier vertex v of c: an anchor's or a
** point's; NULL when none. */
static const boot_interval_t *
vertex_interval(const sweep_t *s, const sweep_curve_t *c,
                const metric_point_t *v)
{
    if (v->cost == 0 && v->accuracy == s->weak.accuracy)
        return &s->weak.iv_accuracy;
    if (v->cost == 1 && v->accuracy == s->strong.accuracy)
        return &s->strong.iv_accuracy;
    for (size_t k = 0; k < c->n; k++)
        if (c->points[k].cost == v->cost &&
            c->points[k].accuracy == v->accuracy)
            return &c->points[k].iv_accuracy;
    return NULL;
}


/* The frontier's band: up along the vertices' tops, back along their
** bottoms; nothing when a vertex has no interval. */
static void
band(FILE *f, const sweep_t *s, const sweep_curve_t *c, const char *colour,
     const frame_t *fr)
{
    for (size_t k = 0; k < c->n_frontier; k++) {
        const boot_interval_t *iv = vertex_interval(s, c, &c->frontier[k]);
        if (iv == NULL || !isfinite(iv->lo) || !isfinite(iv->hi))
            return;
    }
    fprintf(f,
            "<polygon fill=\"%s\" fill-opacity=\"0.15\" stroke=\"none\" "
            "points=\"",
            colour);
    for (size_t k = 0; k < c->n_frontier; k++)
        fprintf(
            f, "%.1f,%.1f ", px(fr, c->frontier[k].cost),
            py(fr, fmin(fr->ymax, vertex_interval(s, c, &c->frontier[k])->hi)));
    for (size_t k = c->n_frontier; k-- > 0;)
        fprintf(
            f, "%.1f,%.1f%s", px(fr, c->frontier[k].cost),
            py(fr, fmax(fr->ymin, vertex_interval(s, c, &c->frontier[k])->lo)),
            k ? " " : "");
    fprintf(f, "\"/>\n");
}


/* Whiskers of p's accuracy and cost intervals, where it has them. */
static void
whiskers(FILE *f, const sweep_point_t *p, const char *colour, const frame_t *fr)
{
    double x = px(fr, p->cost), y = py(fr, p->accuracy);

    if (isfinite(p->iv_accuracy.lo) && isfinite(p->iv_accuracy.hi))
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"%s\" stroke-opacity=\"0.5\"/>\n",
                x, py(fr, fmax(fr->ymin, p->iv_accuracy.lo)), x,
                py(fr, fmin(fr->ymax, p->iv_accuracy.hi)), colour);
    if (isfinite(p->iv_cost.lo) && isfinite(p->iv_cost.hi))
        fprintf(f,
                "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                "stroke=\"%s\" stroke-opacity=\"0.5\"/>\n",
                px(fr, p->iv_cost.lo), y, px(fr, fmin(fr->xmax, p->iv_cost.hi)),
                y, colour);
}


static void
curve(FILE *f, const sweep_t *s, const sweep_curve_t *c, int index,
      const frame_t *fr)
{
    const char *colour = colours[index % N_COLOURS];

    band(f, s, c, colour, fr);
    if (c->n_frontier > 0) {
        fprintf(f,
                "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\" "
                "stroke-linejoin=\"round\" points=\"",
                colour);
        for (size_t k = 0; k < c->n_frontier; k++)
            fprintf(f, "%s%.1f,%.1f", k ? " " : "", px(fr, c->frontier[k].cost),
                    py(fr, c->frontier[k].accuracy));
        fprintf(f, "\"/>\n");
        const metric_point_t *last = &c->frontier[c->n_frontier - 1];
        if (last->cost < 1)
            fprintf(f,
                    "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" "
                    "stroke=\"%s\" stroke-width=\"1.5\" "
                    "stroke-dasharray=\"6 4\"/>\n",
                    px(fr, last->cost), py(fr, last->accuracy), px(fr, 1),
                    py(fr, last->accuracy), colour);
    }
    for (size_t k = 0; k < c->n; k++) {
        const sweep_point_t *p = &c->points[k];
        if (!isfinite(p->cost) || !isfinite(p->accuracy))
            continue;
        fprintf(f, "<g><title>");
        xml_text(f, p->spec);
        fprintf(f, ": accuracy %.1f%%, cost %.1f%%</title>\n",
                100 * p->accuracy, 100 * p->cost);
        whiskers(f, p, colour, fr);
        marker(f, index, px(fr, p->cost), py(fr, p->accuracy), colour,
               !p->on_frontier);
        fprintf(f, "</g>\n");
    }
}


static void
legend(FILE *f, const sweep_t *s)
{
    int x = RIGHT + 24, y = TOP + 8;

    fprintf(f, "<g font-size=\"12\" fill=\"#000000\">\n");
    for (size_t i = 0; i < s->n_curves; i++) {
        const sweep_curve_t *c = &s->curves[i];
        const metrics_summary_t *m = &c->summary;
        char cpt[64];
        if (c->error[0]) {
            fprintf(f, "<text x=\"%d\" y=\"%d\" fill=\"#888888\">", x, y + 4);
            xml_text(f, c->name);
            fprintf(f, ": not evaluated</text>\n");
            y += 22;
            continue;
        }
        const char *colour = colours[i % N_COLOURS];
        fprintf(f,
                "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
                "stroke-width=\"2\"/>\n",
                x, y, x + 28, y, colour);
        marker(f, (int)i, x + 14, y, colour, 0);
        fprintf(f, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">", x + 36,
                y + 4);
        xml_text(f, c->name);
        fprintf(f, "</text>\n");
        if (isnan(m->cpt95))
            snprintf(cpt, sizeof cpt, "not reached");
        else if (isfinite(c->iv[SWEEP_CPT95].lo) &&
                 isfinite(c->iv[SWEEP_CPT95].hi))
            snprintf(cpt, sizeof cpt, "%.1f%% [%.1f, %.1f]", 100 * m->cpt95,
                     100 * c->iv[SWEEP_CPT95].lo, 100 * c->iv[SWEEP_CPT95].hi);
        else if (isfinite(c->iv[SWEEP_CPT95].lo))
            snprintf(cpt, sizeof cpt, "%.1f%% [%.1f, n/r]", 100 * m->cpt95,
                     100 * c->iv[SWEEP_CPT95].lo);
        else
            snprintf(cpt, sizeof cpt, "%.1f%%", 100 * m->cpt95);
        fprintf(f,
                "<text x=\"%d\" y=\"%d\" font-size=\"11\" fill=\"#444444\">"
                "CPT(95%%) %s, APGR %.2f</text>\n",
                x + 36, y + 18, cpt, m->apgr);
        y += 40;
    }
    y += 6;
    star(f, x + 14, y);
    fprintf(f, "<text x=\"%d\" y=\"%d\">weak- and strong-only</text>\n", x + 36,
            y + 4);
    y += 22;
    marker(f, 0, x + 14, y, "#555555", 1);
    fprintf(f, "<text x=\"%d\" y=\"%d\">hollow: off the frontier</text>\n",
            x + 36, y + 4);
    y += 22;
    fprintf(f,
            "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
            "stroke=\"#555555\" stroke-width=\"1.5\" "
            "stroke-dasharray=\"6 4\"/>\n",
            x, y, x + 28, y);
    fprintf(f, "<text x=\"%d\" y=\"%d\">frontier held flat</text>\n", x + 36,
            y + 4);
    fprintf(f, "</g>\n");
}


int
sweep_write_svg(const sweep_t *s, FILE *f)
{
    frame_t fr;

    fit_frame(s, &fr);
    fprintf(f,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" viewBox=\"0 0 %d %d\" "
            "font-family=\"Helvetica, Arial, sans-serif\">\n"
            "<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
            W, H, W, H);
    fprintf(f,
            "<text x=\"%d\" y=\"28\" font-size=\"16\" font-weight=\"bold\" "
            "text-anchor=\"middle\">Accuracy vs strong-model cost: %lld "
            "problems x %zu seed%s from %llu",
            (LEFT + RIGHT) / 2, (long long)s->problems,
            s->n_seeds ? s->n_seeds : 1, s->n_seeds > 1 ? "s" : "",
            (unsigned long long)s->seed);
    if (s->boot_reps > 0)
        fprintf(f, ", %.0f%% bands", 100 * s->boot_level);
    if (s->test_set[0]) {
        fprintf(f, ", test set ");
        xml_text(f, s->test_set);
    }
    fprintf(f, "</text>\n");
    axes(f, &fr);
    for (size_t i = 0; i < s->n_curves; i++)
        if (!s->curves[i].error[0])
            curve(f, s, &s->curves[i], (int)i, &fr);
    anchors(f, s, &fr); /* on top: every frontier starts and ends there */
    legend(f, s);
    fprintf(f, "</svg>\n");
    return ferror(f) ? -1 : 0;
}
