# sweep.gp - a summary metric against a swept parameter, one line per
# policy (or per combination of the other swept parameters): the mean over
# seeds, with bars for the 95% confidence interval of that mean (Student t).
# `thaw plot sweep` writes the data and runs this script; by hand:
#   gnuplot -e "datafile='sweep.dat'; titles='\"queue=fifo\" \"queue=priority\"'; \
#     xlabel='GPUs'; ylabel='cold-start p99 (s)'; categorical=0; xvals='1 2 4'; \
#     title='...'; outfile='s.png'; term='pngcairo'" plots/sweep.gp
# sweep.dat: one block per line (blocks separated by two blank lines), rows
#   x_plotted  mean  ci_low  ci_high  seeds  x_label
# x_plotted is the parameter's value (or its rank when categorical=1),
# nudged a little per line so that bars at one x do not overlap; xvals
# lists the swept values for the tics (numeric), xcats the categories in
# order (categorical=1: category i is at x = i - 1).
if (!exists("term")) term = 'pngcairo'
if (!exists("outfile")) outfile = 'sweep.png'
if (!exists("title")) title = 'Sweep'
if (!exists("categorical")) categorical = 0
if (!exists("xvals")) xvals = ''

nlines = words(titles)
# Long labels go below the plot, one a line: the canvas grows by a line
# each, so the plot keeps its height.
longest = 0
do for [i = 1:nlines] { if (strlen(word(titles, i)) > longest) { longest = strlen(word(titles, i)) } }
height = 640
if (longest > 32 && nlines > 0) { height = 640 + 18 * nlines }
if (term eq 'svg') {
    set terminal svg size 1000, height dynamic background rgb 'white' font 'Helvetica,13'
} else {
    set terminal pngcairo size 1000, height background rgb 'white' font 'Helvetica,11'
}
set termoption noenhanced
set output outfile

array C[12] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", \
               "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"]
array P[6] = [7, 5, 9, 11, 13, 15]

set title title
set xlabel xlabel
set ylabel ylabel
set grid xtics ytics lc rgb '#dddddd'
set offsets graph 0.04, graph 0.04, graph 0.06, graph 0.02
# Short labels sit right of the plot; long ones below it, so that the plot
# keeps its width.
longest = 0
do for [i = 1:nlines] { if (strlen(word(titles, i)) > longest) { longest = strlen(word(titles, i)) } }
if (longest <= 32) {
    set key outside right top vertical Left reverse samplen 3 spacing 1.3
} else {
    # The key title is a blank line: room between the x label and the key.
    set key below vertical Left reverse samplen 3 spacing 1.3 maxcols 1 title ' '
}
if (exists("logscale") && logscale) {
    set logscale y
    set yrange [*:*]
} else {
    set yrange [0:*]
}
# Tics at the swept values themselves (often not evenly spaced, such as
# 1 2 4 8), thinned so that labels never crowd: a value is labelled when it
# lies at least 1/12 of the range right of the last labelled one.
if (!categorical && words(xvals) > 0) {
    xlo = word(xvals, 1) + 0
    xhi = word(xvals, words(xvals)) + 0
    mingap = (xhi - xlo) / 12.0
    set xtics ()
    last = -1e300
    do for [v in xvals] { if (v + 0 - last >= mingap) { set xtics add (v v + 0); last = v + 0 } }
}
if (categorical) {
    # Categories: each named once; past 24, every k-th; long or many names
    # are tilted so neighbours do not overlap.
    ncat = words(xcats)
    xstep = ncat > 24 ? int(ceil(ncat / 24.0)) : 1
    longest_cat = 0
    do for [i = 1:ncat] { if (strlen(word(xcats, i)) > longest_cat) { longest_cat = strlen(word(xcats, i)) } }
    set xtics () scale 0
    do for [i = 1:ncat] { if ((i - 1) % xstep == 0) { set xtics add (word(xcats, i) i - 1) } }
    if (longest_cat * ncat / xstep > 90) { set xtics rotate by 30 right font ',9' }
    set offsets 0.4, 0.4, graph 0.06, graph 0.02
}
plot for [i = 0:nlines - 1] datafile index i using 1:2:3:4 with yerrorlines lw 2 \
    pt P[i % 6 + 1] ps 1.2 lc rgb C[i % 12 + 1] dt 1 + int(i / 12) title word(titles, i + 1)
