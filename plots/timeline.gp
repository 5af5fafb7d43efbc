# timeline.gp - the chained cold start as a picture: a Gantt chart with one
# row per GPU (split into lanes when instances overlap), one colour per
# model; each instance shows its wait in the queue (hatched), its load
# (solid) and its time READY (light), with fault marks across the rows.
# `thaw plot timeline` writes the data and runs this script; by hand:
#   gnuplot -e "spans='spans.dat'; faults='faults.dat'; nfaults=1; nrecovered=0; \
#     gpus='\"n/gpu0\" \"n/gpu1\"'; models='\"a\" \"b\"'; tmax=80; tdone=65; \
#     title='...'; outfile='t.png'; term='pngcairo'" plots/timeline.gp
# spans.dat:  y_center  t_start_s  t_end_s  y_half  colour_index  kind(0 queued, 1 loading, 2 ready)  model
# colour_index indexes `models`: the models, or their groups when there are
# more than twelve models from fewer scenario entries (small-0, small-1 .. -> small).
# faults.dat: t_s  y_top  y_bottom  kind(0 fault, 1 recovered)  target
# Above 32 GPUs thaw shows the 24 busiest (nshown) and gives nodesfile: a
# row per node after the GPU rows (gpus lists the GPUs, then the nodes):
#   y_center  t_mid_s  half_width_s  half_height  loads_in_flight_per_gpu  node
if (!exists("term")) term = 'pngcairo'
if (!exists("outfile")) outfile = 'timeline.png'
if (!exists("title")) title = 'Cold-start timeline'
if (!exists("nfaults")) nfaults = 0
if (!exists("nrecovered")) nrecovered = 0
if (!exists("tdone")) tdone = -1

ngpu = words(gpus)
if (!exists("nshown")) nshown = ngpu
nmod = words(models)
height = 180 + 70 * ngpu
if (height > 2000) height = 2000
if (term eq 'svg') {
    set terminal svg size 1200, height dynamic background rgb 'white' font 'Helvetica,13'
} else {
    set terminal pngcairo size 1200, height background rgb 'white' font 'Helvetica,11'
}
set termoption noenhanced
set output outfile

# Twelve distinguishable colours (Tableau 10 and two more); models beyond
# twelve reuse them.
array C[12] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", \
               "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"]

set title title
set xlabel 'time since the run started (s)'
set ylabel 'GPU'
set xrange [0:tmax]
set yrange [ngpu:0]
# Many GPUs: label every step-th row so the names stay readable.
step = ngpu > 64 ? int(ceil(ngpu / 40.0)) : 1
set ytics scale 0 ()
do for [i = 1:ngpu] { if ((i - 1) % step == 0) { set ytics add (word(gpus, i) i - 0.5) } }
set grid xtics lc rgb '#dddddd'
# Lines between GPU rows.
if (ngpu <= 64) {
    do for [i = 1:ngpu - 1] { set arrow from graph 0, first i to graph 1, first i nohead lc rgb '#999999' lw 1 back }
}
# The node summary: a heavy line between the GPU rows and the node rows,
# its colour scale below the plot.
nodeplot = ""
if (exists("nodesfile")) {
    set arrow from graph 0, first nshown to graph 1, first nshown nohead lc rgb '#000000' lw 2.5 front
    set ylabel 'GPU (the busiest), then node'
    set palette defined (0 '#fff5eb', 0.5 '#fdae6b', 1 '#e6550d', 2 '#7f2704')
    set cbrange [0:*]
    set cblabel 'node rows: loads in flight per GPU' font ',9'
    set colorbox vertical user origin screen 0.875, screen 0.08 size screen 0.018, screen 0.22
    set cbtics font ',9'
    nodeplot = "nodesfile using 2:1:($3 * 1.2):4:5 with boxxyerror fs solid 1.0 noborder lc palette notitle,"
} else {
    unset colorbox
}
if (tdone > 0) {
    set arrow from first tdone, graph 0 to first tdone, graph 1 nohead dt 2 lc rgb '#333333' lw 1.5 front
    # Left of the line when the line is near the right edge.
    if (tdone > 0.75 * tmax) {
        set label sprintf('last load done: %.1f s', tdone) at first tdone, graph 1 offset -0.5, -1 right front
    } else {
        set label sprintf('last load done: %.1f s', tdone) at first tdone, graph 1 offset 0.5, -1 left front
    }
}
set key outside right top vertical Left reverse samplen 2 spacing 1.2 title 'model' left opaque

sel(m, k) = ($5 == m && $6 == k) ? ($2 + $3) / 2 : NaN
# Fault marks only when there are faults (an empty plot element would fail).
faultplot = nfaults > 0 ? \
    "faults using ($4 == 0 ? $1 : NaN):2:(0):($3 - $2) with vectors nohead lw 3 lc rgb '#e00000' title 'GPU or node fault'," : ""
recoveryplot = nrecovered > 0 ? \
    "faults using ($4 == 1 ? $1 : NaN):2:(0):($3 - $2) with vectors nohead lw 2 dt 2 lc rgb '#00a000' title 'recovered'," : ""

plot \
    @nodeplot \
    for [m = 0:nmod - 1] spans using (sel(m, 2)):1:(($3 - $2) / 2):4 \
        with boxxyerror fs transparent solid 0.3 noborder lc rgb C[m % 12 + 1] notitle, \
    for [m = 0:nmod - 1] spans using (sel(m, 0)):1:(($3 - $2) / 2):4 \
        with boxxyerror fs pattern 4 border lc rgb C[m % 12 + 1] lc rgb C[m % 12 + 1] notitle, \
    for [m = 0:nmod - 1] spans using (sel(m, 1)):1:(($3 - $2) / 2):4 \
        with boxxyerror fs solid 0.9 border lc rgb '#202020' lc rgb C[m % 12 + 1] \
        title (m < 24 ? word(models, m + 1) : ''), \
    @faultplot @recoveryplot \
    keyentry with boxes fs pattern 4 border lc rgb '#555555' lc rgb '#555555' title 'queued (waiting)', \
    keyentry with boxes fs solid 0.9 lc rgb '#555555' title 'loading', \
    keyentry with boxes fs transparent solid 0.3 noborder lc rgb '#555555' title 'ready (serving)'
