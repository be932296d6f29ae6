import { applyDecorators } from '@nestjs/common';
import { IsInt, IsNumber, Max, Min } from 'class-validator';

/** A fraction of requests (0..1) for a fault knob. */
export function IsRate(): PropertyDecorator {
  return applyDecorators(IsNumber({ allowNaN: false, allowInfinity: false }), Min(0), Max(1));
}

/** An integer in [min, max] (max optional): counts, sizes, durations in ms. */
export function IsIntIn(min: number, max?: number): PropertyDecorator {
  return max === undefined ? applyDecorators(IsInt(), Min(min)) : applyDecorators(IsInt(), Min(min), Max(max));
}
