/*
** roi_svg.c: the projection's plot, hand-written SVG (roi.h).
**
** x is accuracy (the target), y is monthly cost in USD at the query's
** volume.  Each policy's dollar frontier is a line through its vertices
** (monthly cost = volume * USD per problem + the fixed monthly cost): the
** cheapest monthly cost at which it reaches each accuracy.  Strong-only is
** a dashed horizontal line at its monthly cost with a star at its
** accuracy; the target is a dotted vertical line and the chosen point a
** ring.
*/
#include "roi_internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define W      860
#define H      520
#define LEFT   90
#define RIGHT  620
#define TOP    50
#define BOTTOM 450

static const char *const colours[] = {"#1f77b4", "#d62728", "#2ca02c",
                                      "#ff7f0e", "#9467bd", "#8c564b",
                                      "#e377c2", "#17becf"};
#define N_COLOURS (sizeof colours / sizeof *colours)

typedef struct frame {
    double x0, x1, ymax;
} frame_t;


static double
px(const frame_t *fr, double acc)
{
    return LEFT + (RIGHT - LEFT) * (acc - fr->x0) / (fr->x1 - fr->x0);
}


static double
py(const frame_t *fr, double usd)
{
    return BOTTOM - (BOTTOM - TOP) * usd / fr->ymax;
}


/* A name from a file, with the characters XML treats specially replaced. */
static void
name_text(FILE *f, const char *s)
{
    for (; *s; s++)
        fputc(strchr("<>&\"'", *s) ? '?' : *s, f);
}


/* The monthly cost of vertex v of a frontier. */
static double
monthly_at(const roi_projection_t *pr, const metric_point_t *v)
{
    return pr->query.volume * v->cost + pr->query.fixed_monthly;
}


/*
** The frame into *fr: every frontier vertex, the anchors and the target.
** Returns 0, or -1 when a frontier could not be made.
*/
static int
make_frame(const roi_curve_t *c, const prices_t *p, const roi_projection_t *pr,
           frame_t *fr)
{
    metric_point_t *fv;
    size_t n;

    *fr = (frame_t){pr->acc_strong, pr->acc_strong, pr->monthly_strong};
    for (size_t i = 0; i < c->n; i++) {
        if (roi_frontier(c, i, p, &fv, NULL, &n) < 0)
            return -1;
        for (size_t k = 0; k < n; k++) {
            fr->x0 = fmin(fr->x0, fv[k].accuracy);
            fr->x1 = fmax(fr->x1, fv[k].accuracy);
            fr->ymax = fmax(fr->ymax, monthly_at(pr, &fv[k]));
        }
        free(fv);
    }
    if (isfinite(pr->target)) {
        fr->x0 = fmin(fr->x0, pr->target);
        fr->x1 = fmax(fr->x1, pr->target);
    }
    if (!(fr->x1 > fr->x0)) {
        fr->x0 -= 0.05;
        fr->x1 += 0.05;
    }
    fr->x0 = floor(fr->x0 * 20) / 20;
    fr->x1 = ceil(fr->x1 * 20) / 20;
    fr->ymax = fr->ymax > 0 ? fr->ymax * 1.1 : 1;
    return 0;
}


/* The opening of the <svg>, its title, and the axes with their labels. */
static void
write_axes(FILE *f, const frame_t *fr, const roi_projection_t *pr)
{
    fprintf(f,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
            "height=\"%d\" font-family=\"sans-serif\" font-size=\"12\">\n"
            "<rect width=\"%d\" height=\"%d\" fill=\"white\"/>\n"
            "<text x=\"%d\" y=\"24\" font-size=\"15\">Monthly cost at %.0f "
            "problems/month against target accuracy</text>\n",
            W, H, W, H, LEFT, pr->query.volume);
    /* Axes with five ticks each. */
    fprintf(f, "<path d=\"M%d %d V%d H%d\" stroke=\"black\" fill=\"none\"/>\n",
            LEFT, TOP, BOTTOM, RIGHT);
    for (int t = 0; t <= 5; t++) {
        double acc = fr->x0 + (fr->x1 - fr->x0) * t / 5, usd = fr->ymax * t / 5;
        fprintf(f,
                "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.3f</text>\n"
                "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">$%.4g</text>\n",
                px(fr, acc), BOTTOM + 18, acc, LEFT - 6, py(fr, usd) + 4, usd);
    }
    fprintf(f,
            "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">target "
            "accuracy</text>\n"
            "<text x=\"20\" y=\"%d\" transform=\"rotate(-90 20 %d)\" "
            "text-anchor=\"middle\">USD per month</text>\n",
            (LEFT + RIGHT) / 2, BOTTOM + 40, (TOP + BOTTOM) / 2,
            (TOP + BOTTOM) / 2);
}


int
roi_write_svg(const roi_curve_t *c, const prices_t *p,
              const roi_projection_t *pr, FILE *f)
{
    frame_t fr;
    metric_point_t *fv;
    size_t n;

    if (make_frame(c, p, pr, &fr) < 0)
        return -1;
    write_axes(f, &fr, pr);
    /* Strong-only and the target. */
    fprintf(f,
            "<path d=\"M%d %.1f H%d\" stroke=\"black\" "
            "stroke-dasharray=\"6 4\"/>\n"
            "<text x=\"%.1f\" y=\"%.1f\" font-size=\"16\" "
            "text-anchor=\"middle\">&#9733;</text>\n",
            LEFT, py(&fr, pr->monthly_strong), RIGHT, px(&fr, pr->acc_strong),
            py(&fr, pr->monthly_strong) + 6);
    if (isfinite(pr->target))
        fprintf(f,
                "<path d=\"M%.1f %d V%d\" stroke=\"#555\" "
                "stroke-dasharray=\"2 3\"/>\n",
                px(&fr, pr->target), TOP, BOTTOM);
    /* Each policy's frontier, and the legend. */
    for (size_t i = 0; i < c->n; i++) {
        const char *col = colours[i % N_COLOURS];
        if (roi_frontier(c, i, p, &fv, NULL, &n) < 0)
            return -1;
        fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" points=\"", col);
        for (size_t k = 0; k < n; k++)
            fprintf(f, "%.1f,%.1f ", px(&fr, fv[k].accuracy),
                    py(&fr, monthly_at(pr, &fv[k])));
        fputs("\"/>\n", f);
        for (size_t k = 0; k < n; k++)
            fprintf(
                f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"/>\n",
                px(&fr, fv[k].accuracy), py(&fr, monthly_at(pr, &fv[k])), col);
        free(fv);
        fprintf(f,
                "<rect x=\"%d\" y=\"%zu\" width=\"14\" height=\"4\" "
                "fill=\"%s\"/>\n<text x=\"%d\" y=\"%zu\">",
                RIGHT + 20, (size_t)TOP + 18 * i, col, RIGHT + 40,
                (size_t)TOP + 18 * i + 6);
        name_text(f, c->pol[i].name);
        fputs("</text>\n", f);
    }
    fprintf(f,
            "<text x=\"%d\" y=\"%zu\">- - strong-only, &#9733; its "
            "accuracy</text>\n",
            RIGHT + 20, (size_t)TOP + 18 * c->n + 6);
    if (pr->best >= 0) {
        const roi_choice_t *b = &pr->policies[pr->best];
        fprintf(f,
                "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"7\" fill=\"none\" "
                "stroke=\"black\"/>\n",
                px(&fr, b->accuracy), py(&fr, pr->monthly_policy));
    }
    fputs("</svg>\n", f);
    return ferror(f) ? -1 : 0;
}
