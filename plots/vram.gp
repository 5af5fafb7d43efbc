# vram.gp - VRAM reserved per GPU over time: the sum of the footprints of
# the instances placed on the GPU (from LOADING until EVICTED or FAILED),
# one step line per GPU, with the GPUs' capacities dashed.
# `thaw plot vram` writes the data and runs this script; by hand:
#   gnuplot -e "datafile='vram.dat'; gpus='\"n/gpu0\" \"n/gpu1\"'; caps='80 80'; \
#     tmax=120; title='...'; outfile='v.png'; term='pngcairo'" plots/vram.gp
# vram.dat: one block per GPU (blocks separated by two blank lines), each row
#   t_s  reserved_GiB   (a step: the value holds until the next row)
# caps: each GPU's VRAM capacity in GiB, in the order of gpus.
# Above 16 GPUs thaw also gives heatfile (a matrix: a row per GPU, a column
# per time bin of binw seconds, each cell the % of that GPU's VRAM reserved)
# and the chart is a heatmap, GPU x time, instead of a line per GPU.
if (!exists("term")) term = 'pngcairo'
if (!exists("outfile")) outfile = 'vram.png'
if (!exists("title")) title = 'VRAM reserved per GPU'

ngpu = words(gpus)
if (term eq 'svg') {
    set terminal svg size 1100, 600 dynamic background rgb 'white' font 'Helvetica,13'
} else {
    set terminal pngcairo size 1100, 600 background rgb 'white' font 'Helvetica,11'
}
set termoption noenhanced
set output outfile

# 16 distinct colours: up to 16 GPUs no two lines share one.
array C[16] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", \
               "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939", \
               "#aec7e8", "#ffbb78", "#98df8a", "#ff9896"]

if (exists("heatfile")) {
    set title title
    set xlabel 'time since the run started (s)'
    set ylabel sprintf('GPU (%d, in cluster order)', ngpu)
    set xrange [0:tmax]
    set yrange [ngpu - 0.5:-0.5]
    set cblabel 'VRAM reserved (% of the GPU)'
    set cbrange [0:100]
    set palette defined (0 '#ffffff', 1 '#c6dbef', 40 '#6baed6', 80 '#2171b5', 100 '#08306b')
    # At most ~32 GPU names on the axis: every step-th.
    step = int(ceil(ngpu / 32.0))
    set ytics () font ',8'
    do for [i = 0:ngpu - 1:step] { set ytics add (word(gpus, i + 1) i) }
    set tics out nomirror
    unset key
    # `with image`, not `pixels`: the svg terminal embeds one PNG instead of
    # a rect per cell (40 KB instead of 7 MB at 256 GPUs).
    plot heatfile matrix using (($1 + 0.5) * binw):2:3 with image notitle
    exit
}

capmax = 0
do for [i = 1:ngpu] { if (word(caps, i) + 0 > capmax) { capmax = word(caps, i) + 0 } }
set title title
set xlabel 'time since the run started (s)'
set ylabel 'VRAM reserved (GiB)'
set xrange [0:tmax]
if (exists("logscale") && logscale) {
    set logscale y
    set yrange [0.1:capmax * 1.5]
} else {
    set yrange [0:capmax * 1.12]
}
set grid xtics ytics lc rgb '#dddddd'
set key outside right top vertical Left reverse samplen 2 spacing 1.2
# Capacity: one dashed grey line per distinct value, labelled.
do for [i = 1:ngpu] {
    c = word(caps, i) + 0
    set arrow from first 0, first c to first tmax, first c nohead dt 2 lw 1.5 lc rgb '#666666' back
    set label sprintf('%g GiB', c) at first tmax, first c offset -0.5, 0.7 right tc rgb '#444444'
}

plot for [i = 0:ngpu - 1] datafile index i using 1:2 with steps lw 2.5 \
        lc rgb C[i % 16 + 1] title word(gpus, i + 1), \
    keyentry with lines dt 2 lw 1.5 lc rgb '#666666' title 'capacity'
