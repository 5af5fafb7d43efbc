# validate.gp - simulated against measured load time: each point pairs the
# k-th load of a model in an exec run with the k-th load of the same model
# in a sim run of the same scenario; on the dashed y = x line the simulator
# is exact, above it the real load was slower than simulated.
# `thaw plot validate` writes the data and runs this script; by hand:
#   gnuplot -e "datafile='validate.dat'; models='\"a\" \"b\"'; tmax=40; \
#     title='...'; outfile='v.png'; term='pngcairo'" plots/validate.gp
# validate.dat: rows  simulated_s  measured_s  model_index  model
if (!exists("term")) term = 'pngcairo'
if (!exists("outfile")) outfile = 'validate.png'
if (!exists("title")) title = 'Simulated vs measured load time'

nmod = words(models)
if (term eq 'svg') {
    set terminal svg size 900, 760 dynamic background rgb 'white' font 'Helvetica,13'
} else {
    set terminal pngcairo size 900, 760 background rgb 'white' font 'Helvetica,11'
}
set termoption noenhanced
set output outfile

array C[12] = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", \
               "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#637939"]
array P[6] = [7, 5, 9, 11, 13, 15]

set title title
set xlabel 'simulated load time: started to READY (s)'
set ylabel 'measured load time: started to READY (s)'
set size ratio -1
if (exists("logscale") && logscale) {
    set logscale xy
    set xrange [tmax / 1000.0:tmax]
    set yrange [tmax / 1000.0:tmax]
} else {
    set xrange [0:tmax]
    set yrange [0:tmax]
}
set grid xtics ytics lc rgb '#dddddd'
set key outside right top vertical Left reverse samplen 2 spacing 1.2
set samples 2

plot x with lines dt 2 lw 1.5 lc rgb '#444444' title 'y = x (exact)', \
    for [m = 0:nmod - 1] datafile using ($3 == m ? $1 : NaN):2 with points pt P[m % 6 + 1] \
        ps 1.4 lc rgb C[m % 12 + 1] title (m < 24 ? word(models, m + 1) : '')
